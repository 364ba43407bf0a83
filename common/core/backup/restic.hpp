#pragma once

// restic, run as a program: arguments, environment (the repository and password file never
// on the command line), JSON-line parsing, timeouts, stale-lock handling and the
// classification of its failures into messages that say what to do. What modelkeep sends and
// records (the offsite policy) is in offsite.hpp.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelkeep::core {

namespace fs = std::filesystem;

/// Which repository and how restic is run (see load_restic_config() for where it comes from).
struct ResticConfig {
  std::string repository;
  fs::path password_file;
  std::vector<std::pair<std::string, std::string>> options; ///< passed as -o KEY=VALUE
  std::chrono::seconds timeout{6 * 3600};
  std::string program = "restic"; ///< $MODELKEEP_RESTIC, else restic on PATH
  /// True if copies are recorded in this repository (asked only when it turns out to be
  /// missing): then never suggest `restic init`, which would start an empty one elsewhere.
  std::function<bool()> used_before;

  /// The repository for messages and records: a password in a URL replaced by ***.
  [[nodiscard]] std::string shown_repository() const;
};

/// One restic snapshot as `restic snapshots --json` lists it.
struct Snapshot {
  std::string id;       ///< full snapshot id
  std::string short_id; ///< its first 8 characters
  std::string time;     ///< when restic took it
  std::vector<std::string> paths;
  std::vector<std::string> tags; ///< unescaped
};

/// What `restic backup --json` reported: the new snapshot's id (restic 0.14 prints the short
/// one) and, when its summary has them, how many files and bytes it processed.
struct ResticBackupReport {
  std::string snapshot;
  std::optional<std::uint64_t> files;
  std::optional<std::uint64_t> bytes;
};

/// A restic repository, driven through the restic program. Every call is bounded by the
/// configured timeout; a lock left by a dead restic is removed with `restic unlock` (never
/// --remove-all) and the call retried once; failures become Error with a message that says
/// what to do (install restic, `restic init`, check the password, the network).
class Restic {
public:
  explicit Restic(ResticConfig config) : m_config(std::move(config)) {}

  [[nodiscard]] const ResticConfig& config() const noexcept { return m_config; }

  /// `restic backup` of one backup directory, tagged; returns what restic reported. Progress
  /// (bytes done of total) goes to `on_progress`.
  [[nodiscard]] ResticBackupReport
  backup(const fs::path& dir, const std::vector<std::string>& tags,
         const std::function<void(std::uint64_t, std::uint64_t)>& on_progress) const;

  /// Every snapshot with `tag`.
  [[nodiscard]] std::vector<Snapshot> snapshots(const std::string& tag) const;

  /// The files of a snapshot: absolute path as backed up, and size; with `full_id`, the
  /// snapshot's full id too (the listing names it first).
  [[nodiscard]] std::map<std::string, std::uint64_t> files(const std::string& snapshot,
                                                           std::string* full_id = nullptr) const;

  /// For a repository on a local path: the full id of the snapshot whose id starts with
  /// `short_id`, read from the repository's `snapshots/` directory (restic's documented layout
  /// names each snapshot file by its id; the file is written last, once the snapshot's data and
  /// index are stored). Nothing for another backend, or when no single file matches.
  [[nodiscard]] std::optional<std::string> local_snapshot_id(const std::string& short_id) const;

  /// `restic check`, reading pack data subset `n`/`t` when t > 0.
  void check(unsigned n, unsigned t) const;

  /// `restic restore SNAPSHOT --target DIR`.
  void restore(const std::string& snapshot, const fs::path& target) const;

  /// `restic forget` of these snapshots, then `restic prune`.
  void forget(const std::vector<std::string>& snapshots) const;

private:
  struct Output {
    std::string out;
    std::string err;
  };
  Output run(const std::vector<std::string>& args,
             const std::function<void(std::string_view)>& on_line = {}) const;

  ResticConfig m_config;
};

} // namespace modelkeep::core
