#pragma once

#include "core/weights/base_model.hpp"
#include "core/weights/lora.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

/// How adapters are combined and written.
/// How the deltas of several adapters on one tensor become one (each delta already weighted and
/// scaled), as mergekit and PEFT's add_weighted_adapter define them:
/// - linear: their sum;
/// - magnitude_prune: each keeps its floor(density * n) largest |values|, then the sum;
/// - ties: pruned as magnitude_prune, a sign elected per element by the sign of the summed
///   values (a zero sum elects +), then the mean of the values that agree with it;
/// - dare_linear: each value kept with probability density and divided by density (dropped
///   otherwise; seeded, so a merge is reproducible), then the sum;
/// - dare_ties: dropped as dare_linear, then ties' sign election and mean.
enum class Combination { linear, ties, dare_linear, dare_ties, magnitude_prune };
inline constexpr std::string_view k_combination_names[] = {"linear", "ties", "dare_linear", "dare_ties",
                                                           "magnitude_prune"};
/// Error(usage) for a name that is none of k_combination_names.
[[nodiscard]] Combination parse_combination(std::string_view text);

struct MergeOptions {
  std::vector<double> weights; ///< one per adapter (default 1)
  double scale = 1;            ///< multiplies every delta
  std::optional<DType> dtype;  ///< output dtype of merged tensors (default: the base's)
  bool allow_resize = false;   ///< let a full replacement change a tensor's shape
  Combination combination = Combination::linear;
  double density = 1;     ///< the fraction kept by the pruning combinations, in (0, 1]
  std::uint64_t seed = 0; ///< of the DARE drops
};

/// One LoRA delta to add to a base tensor.
struct Delta {
  std::size_t adapter = 0;
  const LoraModule* module = nullptr;
  double factor = 1;       ///< scaling x adapter weight x --scale
  bool transposed = false; ///< the base stores the weight as [in, out]
};

/// What happens to one output tensor.
struct TensorPlan {
  std::string name;
  const TensorInfo* base = nullptr; ///< nullptr: a tensor the adapter adds
  std::size_t shard = 0;
  DType out_dtype = DType::F32;
  std::vector<std::uint64_t> out_shape;
  std::vector<Delta> deltas;      ///< weight deltas (module A/B)
  std::vector<Delta> bias_deltas; ///< lora_B.bias deltas
  std::optional<Delta> dora;      ///< DoRA renormalisation (its module's magnitude)
  std::size_t replacement_adapter = 0;
  const TensorInfo* replacement = nullptr; ///< full replacement from an adapter

  /// True if the bytes are copied unchanged from the base.
  [[nodiscard]] bool untouched() const;
};

/// Per adapted module, for reports.
struct ModuleReport {
  std::size_t adapter = 0;
  std::string module;
  std::string base_tensor;
  std::string kind;
  double scaling = 1;
  double rank = 0;
  double alpha = 0;
  bool transposed = false;
};

/// The whole merge: the output tensors of each shard in order, and what each module does.
struct MergePlan {
  std::vector<std::vector<TensorPlan>> shards;
  std::vector<ModuleReport> modules;
  std::size_t merged_tensors = 0;
  std::size_t replaced_tensors = 0;
  std::size_t added_tensors = 0;
  std::uint64_t output_bytes = 0;
  Combination combination = Combination::linear;
  double density = 1;
  std::uint64_t seed = 0;
};

/// Resolves every adapter module and replacement against the base (trying the name with and
/// without its leading component), checks every shape and orientation, and returns the plan.
/// Throws Error(malformed) listing every module that is missing, ambiguous or does not fit;
/// nothing has been written then.
[[nodiscard]] MergePlan plan_merge(const BaseModel& base, const std::vector<Adapter>& adapters,
                                   const MergeOptions& options);

} // namespace modelkeep::core
