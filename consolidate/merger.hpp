#pragma once

#include "core/weights/merge_plan.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::consolidate {

namespace fs = std::filesystem;

/// What a merge wrote.
struct MergeStats {
  double max_abs_delta = 0;                 ///< largest |scaled delta| over all modules
  std::map<std::string, double> module_max; ///< per module
  std::uint64_t bytes_written = 0;
  std::size_t tensors_written = 0;
  std::vector<std::string> files;           ///< written into the output, relative
  std::vector<std::string> skipped_weights; ///< other weight files of the base not copied
};

/// Sets LibTorch to use every core (it uses one unless told).
void use_all_cores();

/// Writes the merged model into the new directory `out_dir`: each base shard under its own
/// name, tensor by tensor from the mapped inputs (peak memory: a few times the largest
/// tensor), the shard index with added tensors and the new total size, and every other file
/// of the base directory byte for byte (other weight formats are not copied: they would be
/// stale). Every file is fsynced, then each shard is re-opened and checked against the plan.
[[nodiscard]] MergeStats write_merged(const core::BaseModel& base, const std::vector<core::Adapter>& adapters,
                                      const core::MergePlan& plan, const fs::path& out_dir,
                                      util::Progress* progress);

} // namespace modelkeep::consolidate
