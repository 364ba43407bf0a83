#pragma once

// The catalog: every model of a root with its latest version, stages, headline metric, version
// count and size. The root's catalog.json is its index for programs that only read a file;
// the models' metadata stays the source of truth, so a missing or damaged catalog.json is
// rebuilt from it, never trusted over it. A catalog written as registry.json by a release
// before 0.2 is read, and replaced by catalog.json at the next write.

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

/// Replaces `store`'s entry in the root's catalog.json (under the catalog lock, atomically),
/// dropping entries of models that are gone; rebuilds the whole file from the metadata when it
/// is missing or unreadable. Never throws: the catalog is derived, so a failure is a warning
/// that names the command that repairs it.
void update_catalog(const Store& store, const nlohmann::json& index) noexcept;

/// Rewrites the root's catalog.json from every model's metadata (under the catalog lock);
/// returns the entries written. Throws Error(locked) after `timeout`.
nlohmann::json rebuild_catalog(const fs::path& root, std::chrono::milliseconds timeout);

/// Where the catalog is: <root>/catalog.json.
[[nodiscard]] fs::path catalog_path(const fs::path& root);

/// The root's catalog document (catalog.json, else a legacy registry.json), or null if it is
/// missing or not a catalog.
[[nodiscard]] nlohmann::json read_catalog_file(const fs::path& root);

} // namespace modelkeep::core
