#pragma once

#include "core/weights/safetensors.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modelkeep::core {

/// What the merge needs from a PEFT adapter_config.json.
struct LoraConfig {
  std::string peft_type;
  double r = 8;
  double lora_alpha = 8;
  bool use_rslora = false;
  bool fan_in_fan_out = false;
  bool use_dora = false;
  bool lora_bias = false;
  std::vector<std::pair<std::string, double>> rank_pattern;  ///< in file order
  std::vector<std::pair<std::string, double>> alpha_pattern; ///< in file order
  std::string base_model;

  /// Reads adapter_config.json; Error(malformed) for bad JSON or a peft_type other than LORA.
  [[nodiscard]] static LoraConfig load(const fs::path& path);

  /// The rank and alpha for a module (rank_pattern / alpha_pattern key K applies when the
  /// regex `(.*\.)?(K)$` matches the module name in full; the first match in file order wins).
  [[nodiscard]] std::pair<double, double> rank_alpha(const std::string& module) const;
  /// alpha / r, or alpha / sqrt(r) with use_rslora, for a module.
  [[nodiscard]] double scaling(const std::string& module) const;

private:
  [[nodiscard]] static LoraConfig load_fields(const fs::path& path);
};

/// The kind of layer a LoRA module adapts.
enum class LoraKind { linear, embedding, conv };

/// One adapted module of an adapter file.
struct LoraModule {
  std::string module; ///< name without "base_model.model."
  LoraKind kind = LoraKind::linear;
  const TensorInfo* a = nullptr;         ///< lora_A.weight / lora_embedding_A
  const TensorInfo* b = nullptr;         ///< lora_B.weight / lora_embedding_B
  const TensorInfo* magnitude = nullptr; ///< DoRA lora_magnitude_vector
  const TensorInfo* bias = nullptr;      ///< lora_B.bias (lora_bias)
  double scaling = 1;
};

/// An adapter tensor that replaces (or adds) a whole base tensor.
struct Replacement {
  const TensorInfo* tensor = nullptr;
  std::string target; ///< base-side name before prefix resolution
};

/// A PEFT LoRA adapter directory: config plus the classified tensors of its safetensors.
class Adapter {
public:
  /// Opens DIR/adapter_config.json and DIR/adapter_model.safetensors and classifies every key;
  /// refuses (Error malformed) adapter_model.bin alone, other PEFT types, and any key it does
  /// not understand.
  [[nodiscard]] static Adapter open(const fs::path& dir);

  [[nodiscard]] const fs::path& dir() const noexcept { return m_dir; }
  [[nodiscard]] const LoraConfig& config() const noexcept { return m_config; }
  [[nodiscard]] const SafetensorsFile& file() const noexcept { return m_file; }
  [[nodiscard]] const std::vector<LoraModule>& modules() const noexcept { return m_modules; }
  [[nodiscard]] const std::vector<Replacement>& replacements() const noexcept { return m_replacements; }

private:
  Adapter(fs::path dir, LoraConfig config, SafetensorsFile file)
      : m_dir(std::move(dir)), m_config(std::move(config)), m_file(std::move(file))
  {
  }
  void classify();

  fs::path m_dir;
  LoraConfig m_config;
  SafetensorsFile m_file;
  std::vector<LoraModule> m_modules;
  std::vector<Replacement> m_replacements;
};

} // namespace modelkeep::core
