#pragma once

// consolidate-model's subcommands besides the consolidation itself (workflow.hpp), as library
// functions: typed options in, a result whose to_json() is the --json document out.

#include "core/weights/base_model.hpp"
#include "core/weights/lora.hpp"
#include "merger.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::consolidate {

/// "keep" -> nullopt, "bf16" / "fp16" / "fp32" -> that dtype; Error(usage) otherwise.
[[nodiscard]] std::optional<core::DType> parse_output_dtype(const std::string& text);

/// What a merge is made of and how: the inputs `merge` and `check` share.
struct MergeInputs {
  fs::path base;                  ///< a model directory (sharded or not) or a .safetensors file
  std::vector<fs::path> adapters; ///< PEFT LoRA adapter directories
  std::vector<double> weights;    ///< one per adapter, or none (each 1)
  std::optional<core::DType> dtype;
  double scale = 1;
  bool allow_resize = false;
  core::Combination combination = core::Combination::linear; ///< of several adapters' deltas
  double density = 1;                                        ///< for the pruning combinations
  std::uint64_t seed = 0;                                    ///< for the DARE drops
};

struct MergeRequest {
  MergeInputs inputs;
  fs::path output; ///< a new directory
};
/// `merge`: what was merged and written.
struct Merged {
  fs::path output;
  std::size_t modules = 0;
  std::size_t merged_tensors = 0;
  std::size_t replaced_tensors = 0;
  std::size_t added_tensors = 0;
  MergeStats stats;
  core::Combination combination = core::Combination::linear;
  double density = 1;
  std::uint64_t seed = 0;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// Merges the adapters into the base as PEFT's merge_and_unload() + save_pretrained() would,
/// into a temporary sibling of `output` renamed into place once every shard is re-read and
/// checked. Error(refused) if `output` exists, Error(usage) for a weight count that does not
/// match the adapters.
Merged merge_models(const MergeRequest& request, bool show_progress);

struct CheckRequest {
  MergeInputs inputs;
  fs::path merged;           ///< the merged model to prove
  std::uint64_t max_ulp = 0; ///< the tolerance, in units in the last place
};
/// `check`: whether `merged` is base + adapters under PEFT's semantics, tensor by tensor.
struct Checked {
  fs::path merged;
  std::uint64_t max_ulp_allowed = 0;
  MergeCheck check;
  [[nodiscard]] nlohmann::json to_json() const;
  /// Error(failed) naming the first difference unless every tensor is within the tolerance.
  void require_ok() const;
};
/// Streams base, adapters and the merged model (one tensor in memory at a time) and compares.
/// Error(usage) for a weight count that does not match the adapters; Error(malformed) when the
/// adapters do not fit the base at all.
[[nodiscard]] Checked check_models(const CheckRequest& request, bool show_progress);

/// `inspect`: an adapter's configuration and modules, or a model's shards and tensors.
struct Inspection {
  fs::path path;
  std::optional<core::Adapter> adapter; ///< when `path` is an adapter directory
  std::optional<core::BaseModel> model; ///< otherwise
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] Inspection inspect(const fs::path& path);

/// The name of an adapter module's kind: linear, embedding or conv.
[[nodiscard]] const char* module_kind_name(const core::LoraModule& module);

} // namespace modelkeep::consolidate
