#include "commands.hpp"
#include "commands/backups.hpp"
#include "util/clock.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::backup {

namespace {

void print_table(const std::vector<core::BackupEntry>& entries)
{
  const std::string rule(80, '=');
  std::printf("%s\nBACKUPS (%zu total)\n%s\n", rule.c_str(), entries.size(), rule.c_str());
  if (entries.empty()) {
    return;
  }
  std::printf("%-18s %-40s %-19s %6s %10s %-7s %-14s %s\n", "TYPE", "NAME", "CREATED", "FILES", "SIZE",
              "FORMAT", "STATUS", "REASON");
  for (const auto& entry : entries) {
    if (!entry.info) {
      std::printf("%-18s %-40s %-19s %6s %10s %-7s %-14s %s\n", entry.type.c_str(), entry.name.c_str(), "?",
                  "?", "?", "?", "unreadable", "(see error)");
      continue;
    }
    const auto& info = *entry.info;
    const std::string status = info.verification.state == core::TrustState::unverified
                                   ? "never verified"
                                   : std::string(core::to_string(info.verification.state));
    std::printf("%-18s %-40s %-19s %6zu %10s %-7s %-14s %s\n", info.type.c_str(), info.name.c_str(),
                util::readable_utc(info.created_at).c_str(), info.manifest.file_count(),
                util::human_size(info.manifest.total_size()).c_str(),
                std::string(core::format_name(info.format)).c_str(), status.c_str(), info.reason.c_str());
  }
}

void run(const std::optional<std::string>& type, const GlobalOptions& options)
{
  const Context context(options);
  const auto listing = commands::list_backups(context.session(), type);
  context.emit_data(listing.to_json(), [&] { print_table(listing.entries); });
  listing.require_readable();
}

} // namespace

void add_list(CLI::App& app, const GlobalOptions& options)
{
  auto type = std::make_shared<std::optional<std::string>>();
  auto* cmd =
      app.add_subcommand("list", "List backups: type, name, created, files, size, format, status, reason");
  cmd->add_option("--type", *type, "Only backups of this type");
  cmd->callback([type, &options] { run(*type, options); });
}

} // namespace modelkeep::backup
