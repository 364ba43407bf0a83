#pragma once

#include "app/cli.hpp"
#include "operations.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelkeep::consolidate {

using app::Context;
using app::GlobalOptions;
namespace fs = std::filesystem;

/// The flags of what a merge is made of, shared by merge and check (--base, --adapter,
/// --weight, --dtype, --scale, --combination, --density, --seed, --allow-resize).
struct MergeInputFlags {
  std::string base;
  std::vector<std::string> adapters;
  std::vector<double> weights;
  std::string dtype = "keep";
  double scale = 1;
  bool allow_resize = false;
  std::string combination = "linear";
  double density = 1;
  std::uint64_t seed = 0;
};
/// Adds those flags to `cmd`; `dtype_help` says what --dtype means for it.
void add_merge_inputs(CLI::App& cmd, MergeInputFlags& flags, const std::string& dtype_help);
/// The flags as the library takes them; Error(usage) for a bad dtype or combination.
[[nodiscard]] MergeInputs to_inputs(const MergeInputFlags& flags);

/// Subcommand registration; each adds its subcommand with options and a callback.
void add_merge(CLI::App& app, const GlobalOptions& options);
void add_inspect(CLI::App& app, const GlobalOptions& options);
void add_check(CLI::App& app, const GlobalOptions& options);

/// The consolidation itself: options on the main command (the seed's command line).
void add_consolidate(CLI::App& app, const GlobalOptions& options);

} // namespace modelkeep::consolidate
