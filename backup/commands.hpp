#pragma once

#include "app/cli.hpp"
#include "core/backup/backup.hpp"
#include "core/backup/retention.hpp"

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
void add_offsite(CLI::App& app, const GlobalOptions& options);

/// The retention flags shared by cleanup and offsite forget (`what`: "backup", "copy").
void add_policy_options(CLI::App& cmd, core::RetentionPolicy& policy, const std::string& what);

/// Parses --subset "n/t" with 1 <= n <= t <= 10000; Error(usage) otherwise.
[[nodiscard]] std::pair<unsigned, unsigned> parse_subset(const std::string& text);

/// The ids of every modelkeep snapshot in the store's restic repository (taking the offsite lock).
[[nodiscard]] std::set<std::string> remote_snapshot_ids(const Context& context, const core::Store& store,
                                                        const std::optional<std::string>& repo);

} // namespace modelkeep::backup
