#pragma once

#include "app/cli.hpp"

#include <filesystem>

namespace modelkeep::consolidate {

using app::Context;
using app::GlobalOptions;
namespace fs = std::filesystem;

/// Subcommand registration; each adds its subcommand with options and a callback.
void add_merge(CLI::App& app, const GlobalOptions& options);
void add_inspect(CLI::App& app, const GlobalOptions& options);
void add_check(CLI::App& app, const GlobalOptions& options);

/// The consolidation itself: options on the main command (the seed's command line).
void add_consolidate(CLI::App& app, const GlobalOptions& options);

} // namespace modelkeep::consolidate
