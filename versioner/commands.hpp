#pragma once

#include "app/cli.hpp"

namespace modelkeep::versioner {

using app::Context;
using app::GlobalOptions;
using app::tool_version;

/// Subcommand registration; each adds its subcommand with options and a callback.
void add_create(CLI::App& app, const GlobalOptions& options);
void add_list(CLI::App& app, const GlobalOptions& options);
void add_catalog(CLI::App& app, const GlobalOptions& options);
void add_show(CLI::App& app, const GlobalOptions& options);
void add_restore(CLI::App& app, const GlobalOptions& options);
void add_repair(CLI::App& app, const GlobalOptions& options);
void add_delete(CLI::App& app, const GlobalOptions& options);
void add_verify(CLI::App& app, const GlobalOptions& options);
void add_promote(CLI::App& app, const GlobalOptions& options);
void add_rollback(CLI::App& app, const GlobalOptions& options);
void add_status(CLI::App& app, const GlobalOptions& options);
void add_history(CLI::App& app, const GlobalOptions& options);
void add_tag(CLI::App& app, const GlobalOptions& options);
void add_next(CLI::App& app, const GlobalOptions& options);
void add_lineage(CLI::App& app, const GlobalOptions& options);
void add_gc(CLI::App& app, const GlobalOptions& options);
void add_diff(CLI::App& app, const GlobalOptions& options);
void add_ab(CLI::App& app, const GlobalOptions& options);
void add_monitor(CLI::App& app, const GlobalOptions& options);
void add_serve(CLI::App& app, const GlobalOptions& options);

} // namespace modelkeep::versioner
