#pragma once

#include "core/weights/safetensors.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

/// A base model in Hugging Face layout: one .safetensors file, a directory with
/// model.safetensors, or a directory with model.safetensors.index.json and its shards.
class BaseModel {
public:
  /// Opens and validates every shard (mapped, never read whole); Error(not_found) or
  /// Error(malformed) naming the file.
  [[nodiscard]] static BaseModel open(const fs::path& path);

  /// The model directory (for a single file: its directory).
  [[nodiscard]] const fs::path& dir() const noexcept { return m_dir; }
  /// True if the model came as a directory (so its other files belong to it).
  [[nodiscard]] bool is_directory() const noexcept { return m_is_directory; }
  /// True if the model has a shard index.
  [[nodiscard]] bool sharded() const noexcept { return m_sharded; }
  [[nodiscard]] const std::vector<SafetensorsFile>& shards() const noexcept { return m_shards; }
  /// The shard index document (sharded models only).
  [[nodiscard]] const nlohmann::json& index() const noexcept { return m_index; }
  /// config.json's model_type, or "".
  [[nodiscard]] const std::string& model_type() const noexcept { return m_model_type; }
  /// config.json's quantization_config.quant_method ("gptq", "awq", "bitsandbytes", "fp8", ...;
  /// "unknown" when the method is not named), or "" for a model that is not quantized.
  [[nodiscard]] const std::string& quantization() const noexcept { return m_quantization; }
  /// config.json's tie_word_embeddings, or nullopt when it does not say (transformers then ties).
  [[nodiscard]] std::optional<bool> ties_embeddings() const noexcept { return m_ties_embeddings; }
  /// The shard holding a tensor and its info, or {npos, nullptr}.
  [[nodiscard]] std::pair<std::size_t, const TensorInfo*> find(const std::string& name) const;
  /// Every tensor name.
  [[nodiscard]] std::vector<std::string> tensor_names() const;

private:
  fs::path m_dir;
  bool m_is_directory = false;
  bool m_sharded = false;
  std::vector<SafetensorsFile> m_shards;
  nlohmann::json m_index;
  std::string m_model_type;
  std::string m_quantization;
  std::optional<bool> m_ties_embeddings;
};

} // namespace modelkeep::core
