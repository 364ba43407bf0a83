#include "commands.hpp"

int main(int argc, char** argv)
{
  using namespace modelkeep;
  return app::run_tool("model-versioner", "every training result as a verified, timestamped version.", argc,
                       argv, [](CLI::App& app, const app::GlobalOptions& options) {
                         versioner::add_create(app, options);
                         versioner::add_list(app, options);
                         versioner::add_catalog(app, options);
                         versioner::add_show(app, options);
                         versioner::add_restore(app, options);
                         versioner::add_delete(app, options);
                         versioner::add_verify(app, options);
                         versioner::add_repair(app, options);
                         versioner::add_promote(app, options);
                         versioner::add_rollback(app, options);
                         versioner::add_status(app, options);
                         versioner::add_history(app, options);
                         versioner::add_tag(app, options);
                         versioner::add_next(app, options);
                         versioner::add_lineage(app, options);
                         versioner::add_gc(app, options);
                         versioner::add_diff(app, options);
                         versioner::add_ab(app, options);
                         versioner::add_monitor(app, options);
                         versioner::add_serve(app, options);
                       });
}
