#include "commands.hpp"
#include "core/trust/protection.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct DeleteArgs {
  std::string ref;
  bool confirm = false;
};

std::string describe(const core::VersionDir& version)
{
  try {
    const auto meta = core::load_metadata(version.path);
    return version.name + " (" + std::to_string(meta.manifest.file_count()) + " files, " +
           util::human_size(meta.manifest.total_size()) + ")";
  } catch (const Error&) {
    return version.name + " (metadata unreadable)";
  }
}

void run(const DeleteArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto ref = core::VersionRef::parse(args.ref);
  const core::Store store = context.store();
  store.require_exists();
  if (!args.confirm) {
    const auto version = core::resolve_version(store, ref);
    throw Error(ExitCode::refused, "would delete " + describe(version) + " after a verified backup to " +
                                       (store.backups_dir() / "deleted_versions").string() +
                                       "/; run again with --confirm to do it");
  }
  const auto lock = context.lock(store, "delete");
  const auto version = core::resolve_version(store, ref);
  core::require_unheld_version(store, version, "delete", core::Force::no,
                               "promote or roll back another version, or conclude the A/B test, first");
  const auto result = core::delete_version(store, version, context.progress());
  (void)core::prune_unreferenced_objects(store);
  const nlohmann::json doc = {{"deleted", version.name}, {"backup", result.backup.path.string()}};
  context.emit(doc, [&] {
    std::cout << "deleted " << version.name << "; verified backup: " << result.backup.path.string() << '\n';
  });
}

} // namespace

void add_delete(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<DeleteArgs>();
  auto* cmd =
      app.add_subcommand("delete", "Delete a version after a verified backup to backups/deleted_versions/");
  cmd->add_option("VERSION", args->ref, "v3, 3, v003, a version directory name, or latest")->required();
  cmd->add_flag("--confirm", args->confirm, "Really delete (without it: say what would be deleted, exit 4)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
