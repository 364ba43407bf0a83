#include "commands.hpp"
#include "core/versions/version_ops.hpp"

#include <iostream>

namespace modelkeep::versioner {

void add_next(CLI::App& app, const GlobalOptions& options)
{
  auto* cmd = app.add_subcommand("next", "Print the next major, minor and patch semantic versions");
  cmd->callback([&options] {
    const Context context(options);
    const core::Store store = context.store();
    const auto highest = core::highest_semver(store);
    const core::SemVer base = highest.value_or(core::SemVer{});
    const nlohmann::json doc = {
        {"current", highest ? nlohmann::json(highest->to_string()) : nlohmann::json(nullptr)},
        {"major", base.bump("major").to_string()},
        {"minor", base.bump("minor").to_string()},
        {"patch", base.bump("patch").to_string()}};
    context.emit(doc, [&] {
      std::cout << "current " << (highest ? highest->to_string() : std::string("(none)")) << '\n'
                << "major   " << doc["major"].get<std::string>() << '\n'
                << "minor   " << doc["minor"].get<std::string>() << '\n'
                << "patch   " << doc["patch"].get<std::string>() << '\n';
    });
  });
}

} // namespace modelkeep::versioner
