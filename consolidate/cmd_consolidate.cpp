#include "commands.hpp"

namespace modelkeep::consolidate {

void add_consolidate(CLI::App& app, const GlobalOptions&)
{
  app.require_subcommand(0, 1);
}

}  // namespace modelkeep::consolidate
