#pragma once

#include "core/versions/version.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelkeep::core {

/// A difference between two tensors of the same name (or one missing on a side).
struct TensorChange {
  std::string name;
  std::string kind;         ///< "added", "removed", "shape", "dtype" or "values"
  std::string detail;       ///< e.g. "[8, 64] -> [16, 64]"
  double max_abs = 0;       ///< values: max |b - a|
  double rel_frobenius = 0; ///< values: ||b - a|| / ||a||
  bool breaking = false;
};

/// Tensor by tensor comparison of two safetensors files, streamed from their mappings.
[[nodiscard]] std::vector<TensorChange> diff_safetensors(const fs::path& a, const fs::path& b);

/// A unified diff (3 lines of context) of two texts; one line saying so if they are too large.
[[nodiscard]] std::vector<std::string> unified_diff(const std::string& a, const std::string& b,
                                                    const std::string& label_a, const std::string& label_b);

/// One file that differs between two versions.
struct FileChange {
  std::string path;
  std::string kind; ///< "added", "removed" or "changed"
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
  std::vector<std::string> text_diff;
  std::vector<TensorChange> tensors;
};

/// Everything that differs between two versions.
struct VersionDiff {
  std::vector<FileChange> files;
  std::vector<std::string> breaking; ///< each breaking change, in words
  nlohmann::json metrics;            ///< {name: {a, b, delta}} for the loss and every metric
};

/// Compares two versions: files, text diffs, tensors, metrics; a tensor removed, a shape or
/// dtype changed, or an adapter's r, target_modules or base model changed is breaking.
[[nodiscard]] VersionDiff diff_versions(const VersionDir& a, const VersionDir& b);

} // namespace modelkeep::core
