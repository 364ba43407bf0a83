#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/version_ops.hpp"

#include <iostream>

namespace modelkeep::versioner {

void add_next(CLI::App& app, const GlobalOptions& options)
{
  auto* cmd = app.add_subcommand("next", "Print the next major, minor and patch semantic versions");
  cmd->callback([&options] {
    const Context context(options);
    const auto next = commands::next_versions(context.session());
    context.emit_data(next.to_json(), [&] {
      std::cout << "current " << (next.current ? next.current->to_string() : std::string("(none)")) << '\n'
                << "major   " << next.major.to_string() << '\n'
                << "minor   " << next.minor.to_string() << '\n'
                << "patch   " << next.patch.to_string() << '\n';
    });
  });
}

} // namespace modelkeep::versioner
