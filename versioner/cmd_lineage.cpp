#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/version.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <memory>
#include <set>

namespace modelkeep::versioner {

namespace {

void run(const std::string& ref_text, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::lineage(context.session(), ref_text);
  context.emit_data(result.to_json(), [&] {
    for (std::size_t i = 0; i < result.chain.size(); ++i) {
      const auto& step = result.chain[i];
      std::printf("%s%s  %s\n", i == 0 ? "" : "<- ", step.name.c_str(), step.description.c_str());
      for (const auto& change : step.changes.value_or(std::vector<std::string>{})) {
        std::printf("     %s\n", change.c_str());
      }
    }
  });
}

} // namespace

void add_lineage(CLI::App& app, const GlobalOptions& options)
{
  auto ref = std::make_shared<std::string>();
  auto* cmd =
      app.add_subcommand("lineage", "The chain of parents back to the root, with what changed at each step");
  cmd->add_option("VERSION", *ref, "The version")->required();
  cmd->callback([ref, &options] { run(*ref, options); });
}

} // namespace modelkeep::versioner
