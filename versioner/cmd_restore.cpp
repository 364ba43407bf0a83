#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void run(const commands::RestoreOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto restored = commands::restore_version(context.session(), args);
  context.emit(restored.to_json(),
               [&] { std::cout << app::describe_restore(restored.result, restored.version); });
}

} // namespace

void add_restore(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::RestoreOptions>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Put a version's adapter back; anything else in the target is first backed up (pre_restore)");
  cmd->add_option("VERSION", args->version, "v3, 3, v003, a version directory name, or latest")->required();
  cmd->add_option("--to", args->to, "Target directory (default: the directory the version was created from)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
