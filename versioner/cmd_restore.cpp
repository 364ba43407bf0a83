#include "commands.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct RestoreArgs {
  std::string ref;
  std::optional<std::string> to;
};

void run(const RestoreArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto ref = core::VersionRef::parse(args.ref);
  const core::Store store = context.store();
  store.require_exists();
  const auto lock = context.lock(store, "restore");
  const auto version = core::resolve_version(store, ref);
  const auto meta = core::load_metadata(version.path);
  const std::string target = args.to ? *args.to : meta.source;
  if (target.empty()) {
    throw Error(ExitCode::usage, version.name + " records no source directory: pass --to DIR");
  }
  const auto result = core::restore_version(store, version, meta, target, context.progress());
  nlohmann::json doc = {{"version", version.name},
                        {"target", result.target.string()},
                        {"already_identical", result.already_identical},
                        {"files", meta.manifest.subtree("adapter/").file_count()},
                        {"backup", result.backup_path ? nlohmann::json(result.backup_path->string())
                                                      : nlohmann::json(nullptr)}};
  context.emit(doc, [&] { std::cout << app::describe_restore(result, version.name); });
}

} // namespace

void add_restore(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<RestoreArgs>();
  auto* cmd = app.add_subcommand(
      "restore",
      "Put a version's adapter back; anything else in the target is first backed up (pre_restore)");
  cmd->add_option("VERSION", args->ref, "v3, 3, v003, a version directory name, or latest")->required();
  cmd->add_option("--to", args->to, "Target directory (default: the directory the version was created from)");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
