#pragma once

#include "app/cli.hpp"
#include "core/backup/retention.hpp"

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

} // namespace modelkeep::backup
