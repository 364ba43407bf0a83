#pragma once

// The typed sections of a store's .modelkeep/config.json (the root's, overridden key by key
// by a model's own; see Store::config()).

#include <string>

namespace modelkeep::core {

class Store;

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
