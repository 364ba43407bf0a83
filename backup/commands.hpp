#pragma once

#include "app/cli.hpp"
#include "core/backup/backup.hpp"
#include "core/backup/retention.hpp"
#include "core/trust/protection.hpp"

#include <set>
#include <string>

namespace modelkeep::backup {

using app::Context;
using app::GlobalOptions;
namespace fs = std::filesystem;

/// Subcommand registration; each adds its subcommand with options and a callback.
void add_backup(CLI::App& app, const GlobalOptions& options);
void add_list(CLI::App& app, const GlobalOptions& options);
void add_verify(CLI::App& app, const GlobalOptions& options);
void add_restore(CLI::App& app, const GlobalOptions& options);
void add_cleanup(CLI::App& app, const GlobalOptions& options);
void add_delete(CLI::App& app, const GlobalOptions& options);
void add_repair(CLI::App& app, const GlobalOptions& options);
void add_offsite(CLI::App& app, const GlobalOptions& options);

/// The retention flags shared by cleanup and offsite forget (`what`: "backup", "copy").
void add_policy_options(CLI::App& cmd, core::RetentionPolicy& policy, const std::string& what);

/// Parses --subset "n/t" with 1 <= n <= t <= 10000; Error(usage) otherwise.
[[nodiscard]] std::pair<unsigned, unsigned> parse_subset(const std::string& text);

/// For cleanup --require-offsite: every backup of `backups` without a counted remote copy in
/// the store's restic repository (core/trust/copies.hpp), taking the offsite lock to list it.
[[nodiscard]] core::Holds offsite_holds(const Context& context, const core::Store& store,
                                        const std::optional<std::string>& repo,
                                        const std::vector<core::BackupEntry>& backups);

} // namespace modelkeep::backup
