#include "commands.hpp"
#include "commands/retention.hpp"
#include "core/stages/promotion.hpp"
#include "core/trust/protection.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

void run(const commands::DeleteOptions& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::delete_version(context.session(), args);
  context.emit(result.to_json(), [&] {
    std::cout << "deleted " << result.version << "; verified backup: " << result.backup << '\n';
  });
}

} // namespace

void add_delete(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<commands::DeleteOptions>();
  auto* cmd =
      app.add_subcommand("delete", "Delete a version after a verified backup to backups/deleted_versions/");
  cmd->add_option("VERSION", args->version, "v3, 3, v003, a version directory name, or latest")->required();
  cmd->add_flag("--confirm", args->confirm, "Really delete (without it: say what would be deleted, exit 4)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
