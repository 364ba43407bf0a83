#pragma once

#include "util/copy.hpp"
#include "util/hash.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::core {

namespace fs = std::filesystem;

/// One regular file of a tree: path relative to the tree root ('/'-separated), size, mode bits
/// and SHA-256 of its content.
struct FileEntry {
  std::string path;
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;
  std::string sha256;

  bool operator==(const FileEntry&) const = default;
};

/// The list of files of a version or backup, sorted by path; the basis of every check.
class Manifest {
public:
  Manifest() = default;
  /// Takes the entries and sorts them by path.
  explicit Manifest(std::vector<FileEntry> files);

  [[nodiscard]] const std::vector<FileEntry>& files() const noexcept { return m_files; }
  [[nodiscard]] std::size_t file_count() const noexcept { return m_files.size(); }
  [[nodiscard]] std::uint64_t total_size() const noexcept;

  /// Content identity: SHA-256 over "sha256 size path\n" of every file in path order
  /// (modes are not part of it).
  [[nodiscard]] std::string digest() const;

  /// The entry for `path`, or nullptr.
  [[nodiscard]] const FileEntry* find(std::string_view path) const;

  /// The entries under `prefix` ("adapter/"), with the prefix removed from their paths.
  [[nodiscard]] Manifest subtree(std::string_view prefix) const;

  /// Adds `prefix` in front of every path.
  [[nodiscard]] Manifest with_prefix(std::string_view prefix) const;

  /// Appends the entries of `other` (paths must not collide).
  void merge(const Manifest& other);

  /// A JSON array of {path, size, mode, sha256}.
  [[nodiscard]] nlohmann::json to_json() const;

  /// Parses to_json()'s output; throws Error(malformed) naming `origin` on anything else.
  [[nodiscard]] static Manifest from_json(const nlohmann::json& json, const fs::path& origin);

private:
  std::vector<FileEntry> m_files;
};

/// A regular file found in a source tree, not hashed yet.
struct SourceFile {
  std::string relative; ///< '/'-separated, relative to the scanned root
  fs::path absolute;
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;
};

/// Which symlinks to files a scan follows: any (a base model in a Hugging Face cache links
/// into ../../blobs), or only those that stay inside the scanned directory (an adapter: a
/// version must never take in a foreign file by way of a link).
enum class Symlinks { follow, inside_only };

/// Lists the regular files under `root` in path order, following symlinks to files as
/// `symlinks` allows; refuses (Error malformed) other symlinks, symlinks to directories,
/// sockets, devices and FIFOs. Names containing the temporary marker are included: this is
/// user data, not the store.
[[nodiscard]] std::vector<SourceFile> scan_tree(const fs::path& root, Symlinks symlinks = Symlinks::follow);

/// The files of a directory of user input — an adapter to version, a directory to back up, an
/// adapter to consolidate — under one policy for every tool: symlinks only to files inside it
/// (never followed out of it), every name valid UTF-8, at least one file, and an
/// adapter_config.json only together with its weights. Error(malformed) naming the directory
/// (`what` says what it is for) and the rule otherwise.
[[nodiscard]] std::vector<SourceFile> scan_input(const fs::path& dir, std::string_view what);

/// Indices of `files`, largest first: handed to threads in this order, they finish at about
/// the same time.
[[nodiscard]] std::vector<std::size_t> largest_first(const std::vector<SourceFile>& files);

/// Total size of scanned files.
[[nodiscard]] std::uint64_t total_size(const std::vector<SourceFile>& files);

/// Copies the files into `dest_root` (creating subdirectories, fsyncing every file and
/// directory), hashing each byte once on the way; returns the manifest of what was copied.
[[nodiscard]] Manifest copy_tree(const std::vector<SourceFile>& files, const fs::path& dest_root,
                                 util::Progress* progress, util::DropCache drop_cache = util::DropCache::no);

/// Hashes the files in place and returns their manifest.
[[nodiscard]] Manifest hash_files(const std::vector<SourceFile>& files, util::Progress* progress);

/// Whether a check re-reads and hashes file contents or compares sizes only.
enum class Hashing { no, yes };

/// The differences between a tree on disk (or an archive) and a manifest.
struct TreeCheck {
  std::vector<std::string> missing;  ///< in the manifest, not on disk
  std::vector<std::string> modified; ///< different size, content or type on disk
  std::vector<std::string> resized;  ///< those of `modified` whose size differs
  std::vector<std::string> extra;    ///< on disk, not in the manifest
  std::vector<std::string> other;    ///< anything else wrong (unsafe or unsupported entries)
  std::uint64_t files_found = 0;     ///< files seen on disk (or in the archive)
  std::uint64_t bytes_found = 0;     ///< their total size

  [[nodiscard]] bool ok() const noexcept
  {
    return missing.empty() && modified.empty() && extra.empty() && other.empty();
  }
  /// "2 missing, 1 modified, 0 extra" style summary.
  [[nodiscard]] std::string summary() const;
};

/// Re-reads every file under `root` and compares it with `manifest`: count, sizes and, with
/// Hashing::yes, SHA-256. Top-level names in `ignore` (such as "metadata.json") are skipped.
/// ReadFrom::device for a read-back right after writing.
[[nodiscard]] TreeCheck check_tree(const fs::path& root, const Manifest& manifest, util::Progress* progress,
                                   const std::set<std::string>& ignore = {}, Hashing hashing = Hashing::yes,
                                   util::ReadFrom from = util::ReadFrom::cache);

} // namespace modelkeep::core
