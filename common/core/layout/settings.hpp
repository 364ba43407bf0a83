#pragma once

// The typed sections of a store's .modelkeep/config.json (the root's, overridden key by key
// by a model's own; see Store::config()).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace modelkeep::core {

class Store;

/// A setting and the config file it comes from (relative paths in it are relative to that
/// file's directory).
struct Setting {
  nlohmann::json value;
  std::filesystem::path file;
};

/// The top-level `key` of the model's settings: from the model's own .modelkeep/config.json
/// if it has it, else from the root's; nullopt if neither has it.
[[nodiscard]] std::optional<Setting> setting(const Store& store, const std::string& key);

/// The auto-promotion rule and its thresholds.
struct AutoPromoteRule {
  std::string metric = "f1_score";
  double high_threshold = 0.95;
  double min_improvement = 0.02;
};

/// The store's defaults for auto-promote from .modelkeep/config.json ("auto_promote": {...}),
/// or the built-in ones.
[[nodiscard]] AutoPromoteRule load_auto_promote_rule(const Store& store);

} // namespace modelkeep::core
