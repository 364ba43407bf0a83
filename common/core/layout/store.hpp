#pragma once

#include "core/layout/filenames.hpp"
#include "util/lockfile.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

namespace fs = std::filesystem;

/// Reads a store config file (.modelkeep/config.json): nullopt if there is none; Error(malformed)
/// with line and column for a syntax error, or for a document that is not an object. Keys it
/// does not know (a typo such as "pasword_file") are warned about once per file, naming it.
[[nodiscard]] std::optional<nlohmann::json> read_store_config(const fs::path& path);

/// The name of the model that lives directly under the root (root/versions/ ...).
inline constexpr const char* k_default_model = "default";

/// One model of a store: versions/, backups/, consolidated_models/ and .modelkeep/ in its
/// directory. The default model's directory is the root itself; a named model's is
/// root/<name>/. Each model has its own lock, so different models can be written at once.
class Store {
public:
  /// The default model of the store at `root` (made absolute; nothing is created yet).
  explicit Store(const fs::path& root);

  /// Model `model` of the store at `root` ("" or "default": the default model). Throws
  /// Error(usage) for a bad name or one whose directory would leave the root through a
  /// symbolic link.
  Store(const fs::path& root, const std::string& model);

  /// A store found from a directory, as git finds .git.
  struct Found {
    fs::path root;
    std::optional<std::string> model; ///< when the directory is inside a named model's
  };
  /// The nearest store at or above `start`: a directory that holds versions/, .modelkeep/ or
  /// catalog.json, or a models/ subdirectory of one on the way that does (a training directory).
  /// A named model's directory (root/NAME) gives its root and NAME. nullopt if none up to /.
  [[nodiscard]] static std::optional<Found> discover(const fs::path& start);

  /// The root to use: `cli_root` if given, else $MODELKEEP_ROOT, else the store found from the
  /// working directory upward (discover()), else ./models (where a first create makes one).
  [[nodiscard]] static fs::path choose_root(const std::optional<std::string>& cli_root);

  /// The model to use: `cli_model` if given, else $MODELKEEP_MODEL, else the default model.
  [[nodiscard]] static std::string choose_model(const std::optional<std::string>& cli_model);

  /// The model a command runs on: choose_root(cli_root) and choose_model(cli_model), except that
  /// when the root was discovered and no model was named, the named model whose directory holds
  /// the working directory.
  [[nodiscard]] static Store locate(const std::optional<std::string>& cli_root,
                                    const std::optional<std::string>& cli_model);

  /// The store root, which holds every model (and the catalog, catalog.json).
  [[nodiscard]] const fs::path& root() const noexcept { return m_root; }
  /// The model's name ("default" for the one directly under the root).
  [[nodiscard]] const std::string& model() const noexcept { return m_model; }
  [[nodiscard]] bool is_default_model() const noexcept { return m_model == k_default_model; }
  /// The model's directory: the root for the default model, root/<name> otherwise.
  [[nodiscard]] const fs::path& dir() const noexcept { return m_dir; }
  /// "" for the default model, else " (model NAME)": for messages that name a place.
  [[nodiscard]] std::string model_suffix() const;

  [[nodiscard]] fs::path versions_dir() const { return m_dir / filenames::versions; }
  [[nodiscard]] fs::path backups_dir() const { return m_dir / filenames::backups; }
  [[nodiscard]] fs::path consolidated_dir() const { return m_dir / filenames::consolidated; }
  [[nodiscard]] fs::path state_dir() const { return m_dir / filenames::state; }
  /// The root's state directory (the catalog lock, settings shared by all models).
  [[nodiscard]] fs::path root_state_dir() const { return m_root / filenames::state; }
  [[nodiscard]] fs::path lock_path() const { return state_dir() / filenames::lock; }
  [[nodiscard]] fs::path events_path() const { return versions_dir() / filenames::events; }
  [[nodiscard]] fs::path latest_path() const { return versions_dir() / filenames::latest; }
  /// A version's directory (or where it would be) by its directory name.
  [[nodiscard]] fs::path version_path(const std::string& name) const { return versions_dir() / name; }

  /// True if the store has been created (its versions/ directory exists).
  [[nodiscard]] bool exists() const;

  /// The settings in .modelkeep/config.json: the root's, overridden key by key by the model's
  /// own. Error(malformed) if either file is not a JSON object.
  [[nodiscard]] nlohmann::json config() const;

  /// Throws Error(not_found) unless exists().
  void require_exists() const;

  /// Creates the store's directories if missing.
  void ensure_layout() const;

  /// Creates the layout, takes the model's writer lock for `command` (waiting up to `timeout`;
  /// Error(locked) after it), then removes leftovers of killed runs. Writers do not call this
  /// directly but core::lock_for_writing() (versions/recovery.hpp), which also repairs what a
  /// killed run left half-done above the layout.
  [[nodiscard]] util::LockFile acquire_lock(const std::string& command, std::chrono::milliseconds timeout,
                                            const util::LockWaitNote& waiting = {}) const;

  /// Removes temporaries (names with the `.tmp` marker) in versions/, backups/*/,
  /// consolidated_models/ and .modelkeep/; only call with the lock held. Returns what was removed.
  std::vector<fs::path> clean_leftovers() const;

private:
  fs::path m_root;
  std::string m_model;
  fs::path m_dir;
};

/// Every model under `root` with a versions/ directory: "default" first if the root has one,
/// then the named models in name order.
[[nodiscard]] std::vector<std::string> discover_models(const fs::path& root);

} // namespace modelkeep::core
