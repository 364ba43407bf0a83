#include "commands.hpp"

namespace modelkeep::backup {

nlohmann::json backup_json(const core::BackupInfo& info)
{
  return {{"id", info.id()},
          {"path", info.path.string()},
          {"type", info.type},
          {"name", info.name},
          {"source", info.source},
          {"reason", info.reason},
          {"created_at", info.created_at},
          {"format", core::format_name(info.format)},
          {"file_count", info.manifest.file_count()},
          {"total_size", info.manifest.total_size()},
          {"status", info.verification_result.empty() ? "never verified" : info.verification_result},
          {"verified_at", info.verified_at}};
}

}  // namespace modelkeep::backup

int main(int argc, char** argv)
{
  using namespace modelkeep;
  return app::run_tool("backup-manager", "verified backups, restore, retention, nightly runs.", argc, argv,
                       [](CLI::App& app, const app::GlobalOptions& options) {
                         backup::add_backup(app, options);
                         backup::add_list(app, options);
                         backup::add_verify(app, options);
                         backup::add_restore(app, options);
                         backup::add_cleanup(app, options);
                         backup::add_delete(app, options);
                         backup::add_offsite(app, options);
                       });
}
