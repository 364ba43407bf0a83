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

/// One tensor where a merged model is not what base + adapters give.
struct TensorDifference {
  std::string tensor;
  std::string kind;   ///< missing, extra, dtype, shape, values, untouched (changed, no adapter touches it)
  std::string detail; ///< in words: "BF16, expected F32", "max 3 ulp at element 17 (12 of 4096 differ)"
  std::uint64_t max_ulp = 0;
};

/// What comparing a merged model with base + adapters found.
struct MergeCheck {
  std::size_t tensors = 0;   ///< compared value by value
  std::size_t identical = 0; ///< bit for bit
  std::size_t within = 0;    ///< different, but within the tolerance
  std::uint64_t max_ulp = 0; ///< the worst distance over the compared tensors
  std::string worst_tensor;
  std::uint64_t worst_element = 0;
  std::uint64_t bytes_compared = 0; ///< of the merged model
  std::vector<TensorDifference> differences; ///< beyond the tolerance, and every structural one
  [[nodiscard]] bool ok() const { return differences.empty(); }
};

/// Recomputes, tensor by tensor, what merging `adapters` into `base` under `plan` gives (the
/// computation write_merged() writes) and compares it with `merged` in units in the last place:
/// a tensor within `max_ulp` passes; one beyond it, missing, extra, of another dtype or shape
/// is a difference. Memory stays at the merge's level (one tensor at a time).
[[nodiscard]] MergeCheck check_merged(const core::BaseModel& base, const std::vector<core::Adapter>& adapters,
                                      const core::MergePlan& plan, const core::BaseModel& merged,
                                      std::uint64_t max_ulp, util::Progress* progress);

} // namespace modelkeep::consolidate
