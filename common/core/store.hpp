#pragma once

#include "util/lockfile.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::core {

namespace fs = std::filesystem;

/// The store on disk: versions/, backups/, consolidated_models/ and .modelkeep/ under one root.
class Store {
public:
  /// A store at `root` (made absolute; nothing is created yet).
  explicit Store(const fs::path& root);

  /// The root to use: `cli_root` if given, else $MODELKEEP_ROOT, else ./models.
  [[nodiscard]] static fs::path choose_root(const std::optional<std::string>& cli_root);

  [[nodiscard]] const fs::path& root() const noexcept { return m_root; }
  [[nodiscard]] fs::path versions_dir() const { return m_root / "versions"; }
  [[nodiscard]] fs::path backups_dir() const { return m_root / "backups"; }
  [[nodiscard]] fs::path consolidated_dir() const { return m_root / "consolidated_models"; }
  [[nodiscard]] fs::path state_dir() const { return m_root / ".modelkeep"; }
  [[nodiscard]] fs::path lock_path() const { return state_dir() / "lock"; }
  [[nodiscard]] fs::path events_path() const { return versions_dir() / "events.jsonl"; }

  /// True if the store has been created (its versions/ directory exists).
  [[nodiscard]] bool exists() const;

  /// Throws Error(not_found) unless exists().
  void require_exists() const;

  /// Creates the store's directories if missing.
  void ensure_layout() const;

  /// Creates the layout, takes the store's writer lock for `command` (waiting up to
  /// `timeout`), then removes leftovers of killed runs and repairs `latest`.
  [[nodiscard]] util::LockFile lock_for_writing(const std::string& command,
                                                std::chrono::milliseconds timeout) const;

  /// Removes temporaries (names with the `.tmp` marker) in versions/, backups/*/,
  /// consolidated_models/ and .modelkeep/; only call with the lock held. Returns what was removed.
  std::vector<fs::path> clean_leftovers() const;

private:
  fs::path m_root;
};

} // namespace modelkeep::core
