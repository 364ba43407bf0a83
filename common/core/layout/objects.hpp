#pragma once

#include "core/tree/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::core {

class Store;

/// How version files share storage with the content-addressed objects under
/// .modelkeep/objects/sha256/: automatic tries reflink, then hardlink, then copy.
enum class LinkMode { automatic, reflink, hardlink, copy };

/// "auto", "reflink", "hardlink" or "copy"; Error(usage) otherwise.
[[nodiscard]] LinkMode parse_link_mode(const std::string& text);
[[nodiscard]] std::string link_mode_name(LinkMode mode);

/// The store's setting ("link" in .modelkeep/config.json), automatic if none.
[[nodiscard]] LinkMode configured_link_mode(const Store& store);

[[nodiscard]] fs::path objects_dir(const Store& store);
[[nodiscard]] fs::path object_path(const Store& store, const std::string& sha256);

/// What identifies one state of a file without reading it (as git's index does).
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;

  bool operator==(const FileStamp&) const = default;
  /// The stamp of a file now (following symlinks); nullopt if it cannot be stat'ed.
  [[nodiscard]] static std::optional<FileStamp> of(const fs::path& path);
};

/// Remembers the SHA-256 of files by path and stamp, in .modelkeep/statcache.json, so that
/// unchanged files are not read again. Racy-clean guard: an entry hashed within two seconds of
/// the file's modification time is not trusted (a write in the same timestamp tick could have
/// followed the hash), so such files are hashed again.
class StatCache {
public:
  StatCache() = default;
  StatCache(StatCache&& other) noexcept : m_entries(std::move(other.m_entries)) {}
  StatCache& operator=(StatCache&&) = delete;
  StatCache(const StatCache&) = delete;
  StatCache& operator=(const StatCache&) = delete;
  ~StatCache() = default;

  /// Loads the store's cache; a missing or unreadable one is empty.
  [[nodiscard]] static StatCache load(const Store& store);

  /// The hash recorded for `path` if its stamp is unchanged and the entry is not racy.
  [[nodiscard]] std::optional<std::string> lookup(const fs::path& path, const FileStamp& stamp) const;

  /// Records a hash computed from the file in state `stamp` at time `hashed_at_ns`.
  void remember(const fs::path& path, const FileStamp& stamp, const std::string& sha256,
                std::int64_t hashed_at_ns);

  /// Writes the cache atomically, dropping entries of files that are gone; the caller holds the lock.
  void save(const Store& store) const;

private:
  struct Entry {
    FileStamp stamp;
    std::string sha256;
    std::int64_t hashed_at_ns = 0;
  };
  mutable std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
};

/// What ingest_tree did.
struct IngestStats {
  std::uint64_t files_linked = 0; ///< linked to an object that was there already
  std::uint64_t files_stored = 0; ///< copied into a new object
  std::uint64_t bytes_read = 0;   ///< source bytes read (hashing and copying)
  LinkMode used = LinkMode::copy; ///< the last way a file was linked
};

/// Puts the files into `dest_root` as links to content-addressed objects: a file whose stamp
/// the cache knows and whose object exists is linked without being read; any other file is
/// copied and hashed in one pass into a new object (read-only, fsynced, renamed into place)
/// and linked. With LinkMode::copy, files are plain copies and no object is made. Returns the
/// manifest (modes as in the source: restore gives the user private copies with them).
[[nodiscard]] Manifest ingest_tree(const Store& store, const std::vector<SourceFile>& files,
                                   const fs::path& dest_root, LinkMode mode, StatCache& cache,
                                   util::Progress* progress, IngestStats& stats);

/// Hashes files like hash_files, taking unchanged ones from the cache (and adding the others).
[[nodiscard]] Manifest hash_files_cached(const std::vector<SourceFile>& files, StatCache& cache,
                                         util::Progress* progress);

/// The SHA-256 of every object known to be damaged (a verification found a file linked to it
/// changed): ingest never links a new version to one of them, it stores the content afresh
/// (which also mends the object for later links). From .modelkeep/damaged.json; none if missing.
[[nodiscard]] std::set<std::string> damaged_objects(const Store& store);

/// Adds objects to the damaged list (`where` says in which file the damage was seen). The
/// caller holds the lock.
void mark_damaged(const Store& store, const std::map<std::string, std::string>& where);

/// Removes objects from the damaged list once their content was restored. The caller holds the lock.
void clear_damaged(const Store& store, const std::set<std::string>& shas);

/// Stores the content of `source` as object `sha256`: copied and hashed in one pass into a
/// temporary, refused (Error(failed), nothing changed) unless it hashes to `sha256`, fsynced and
/// renamed over the object (a damaged one is replaced; versions that hard-link the old one keep
/// it until relinked). Returns the object's path. The caller holds the lock.
fs::path store_object(const Store& store, const fs::path& source, const std::string& sha256);

/// Replaces `dest` (a file of a version, perhaps in a read-only directory) with a link to the
/// object `object` made the store's way (reflink, hardlink, else a copy with `mode`): a
/// temporary beside the versions is renamed over it, and its directory fsynced.
void relink_file(const Store& store, const fs::path& object, const fs::path& dest, std::uint32_t mode);

/// Removes every object whose SHA-256 is not in `referenced` (the caller collects the hashes
/// of everything that still uses objects: see prune_unreferenced_objects()); the caller holds
/// the lock. Returns how many were removed.
std::size_t prune_objects(const Store& store, const std::set<std::string>& referenced);

} // namespace modelkeep::core
