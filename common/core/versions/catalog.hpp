#pragma once

// The catalog: every model of a root with its latest version, stages, headline metric, version
// count and size. The root's registry.json is its index for programs that only read a file;
// the models' metadata stays the source of truth, so a missing or damaged registry.json is
// rebuilt from it, never trusted over it.

#include "core/layout/store.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace modelkeep::core {

/// The catalog entry of `store`'s model from its version index (build_index()'s document):
/// {"model", "path", "latest", "stages", "active": {"stage", "version", "path"} or null,
///  "metric": {"name", "value"}, "samples", "version_count", "total_size", "last_created"}.
/// Paths are relative to the root.
[[nodiscard]] nlohmann::json catalog_entry(const Store& store, const nlohmann::json& index);

/// Every model's entry, in discover_models() order, computed from the metadata (reads only).
[[nodiscard]] nlohmann::json build_catalog(const fs::path& root);

/// Replaces `store`'s entry in the root's registry.json (under the catalog lock, atomically),
/// dropping entries of models that are gone; rebuilds the whole file from the metadata when it
/// is missing or unreadable. Never throws: the catalog is derived, so a failure is a warning
/// that names the command that repairs it.
void update_catalog(const Store& store, const nlohmann::json& index) noexcept;

/// Rewrites the root's registry.json from every model's metadata (under the catalog lock);
/// returns the entries written. Throws Error(locked) after `timeout`.
nlohmann::json rebuild_catalog(const fs::path& root, std::chrono::milliseconds timeout);

/// The root's registry.json document, or null if it is missing or not a catalog.
[[nodiscard]] nlohmann::json read_catalog_file(const fs::path& root);

} // namespace modelkeep::core
