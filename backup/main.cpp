#include "commands.hpp"

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
                         backup::add_repair(app, options);
                         backup::add_offsite(app, options);
                       });
}
