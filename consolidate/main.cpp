#include "commands.hpp"

int main(int argc, char** argv)
{
  using namespace modelkeep;
  return app::run_tool(
      "consolidate-model",
      "merge a LoRA adapter into its base model, after a verified backup and a version exist.", argc, argv,
      [](CLI::App& app, const app::GlobalOptions& options) {
        consolidate::add_merge(app, options);
        consolidate::add_inspect(app, options);
        consolidate::add_check(app, options);
        consolidate::add_consolidate(app, options);
      });
}
