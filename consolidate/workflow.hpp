#pragma once

#include "core/weights/safetensors.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {
class Store;
}

namespace modelkeep::consolidate {

namespace fs = std::filesystem;

/// What `consolidate-model --base-dir DIR ...` was asked to do.
struct ConsolidateRequest {
  fs::path base_dir;
  std::string description;
  std::vector<fs::path> training_data;
  std::optional<std::uint64_t> steps;
  std::optional<double> loss;
  std::optional<std::string> adapter_dir; ///< overrides modelkeep.json
  std::optional<std::string> base_model;  ///< overrides modelkeep.json
  std::optional<std::string> root;        ///< --root: overrides modelkeep.json's store
  std::optional<std::string> model;       ///< --model: overrides $MODELKEEP_MODEL and modelkeep.json's model
  std::optional<core::DType> dtype;
  bool keep_adapter = false;
  bool allow_remerge = false; ///< merge an adapter the base already contains (applies it twice)
  bool dry_run = false;
  bool show_progress = false;
  double lock_timeout_seconds = 30;
  std::string tool_version;
};

/// The outcome, for printing and JSON.
struct ConsolidateResult {
  bool dry_run = false;
  bool resumed = false;
  std::string backup;
  std::string version;
  std::string output;
  bool adapter_deleted = false;
  std::vector<std::string> log; ///< every step, as printed
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Runs (or resumes, from the journal in DIR) the six steps: validate, verified backup,
/// version, merge into consolidated_models/, update modelkeep.json, delete the adapter.
/// Every step is printed through `say` and logged; nothing is deleted unless steps 2 to 5
/// are complete and verified.
[[nodiscard]] ConsolidateResult run_consolidation(const ConsolidateRequest& request,
                                                  const std::function<void(const std::string&)>& say);

} // namespace modelkeep::consolidate
