#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace modelkeep::util {

namespace fs = std::filesystem;

/// Owns a file descriptor and closes it on destruction.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  /// The descriptor, or -1.
  [[nodiscard]] int get() const noexcept { return m_fd; }
  /// Gives up ownership and returns the descriptor.
  int release() noexcept;
  /// Closes now; throws with `path` in the message if close reports an error.
  void close(const fs::path& path);

private:
  int m_fd = -1;
};

/// The marker in every temporary name modelkeep creates; entries containing it are leftovers.
inline constexpr std::string_view k_temp_marker = ".tmp";

/// True if a directory entry name is a modelkeep temporary (contains the `.tmp` marker).
[[nodiscard]] bool is_temp_name(std::string_view name);

/// A unique temporary name beside `path`: ".<name>.<tag>.tmp-<pid>-<counter>".
[[nodiscard]] fs::path temp_path_for(const fs::path& path, std::string_view tag = "");

/// Owns a temporary file or directory tree under construction: removes it on destruction
/// unless commit() was called (after it was renamed into place).
class TempPath {
public:
  explicit TempPath(fs::path path) : m_path(std::move(path)) {}
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  ~TempPath();

  [[nodiscard]] const fs::path& path() const noexcept { return m_path; }
  /// The temporary has been renamed into place (or handed on): do not remove it.
  void commit() noexcept { m_committed = true; }

private:
  fs::path m_path;
  bool m_committed = false;
};

/// Opens a file for reading; throws "cannot open <path>: <cause>".
[[nodiscard]] UniqueFd open_for_reading(const fs::path& path);

/// Creates a new file (must not exist) for writing with `mode`.
[[nodiscard]] UniqueFd create_exclusive(const fs::path& path, unsigned mode = 0644);

/// read(2) that retries on EINTR; returns the byte count (0 at end of file) or throws
/// "cannot read <path>: <cause>".
[[nodiscard]] std::size_t read_some(int fd, void* buffer, std::size_t size, const fs::path& path);

/// Writes all bytes, retrying short writes; throws "cannot write <path>: <cause>".
void write_all(int fd, std::string_view data, const fs::path& path);

/// fsync(2) with the path in the error message.
void fsync_fd(int fd, const fs::path& path);

/// Opens a directory and fsyncs it, making renames and creations in it durable.
void fsync_dir(const fs::path& dir);

/// Opens a file read-only and fsyncs its data (a link or copy just made).
void fsync_file(const fs::path& path);

/// Reads a whole (small) file; refuses files larger than `max_size` bytes.
[[nodiscard]] std::string read_file(const fs::path& path, std::uint64_t max_size = 64 << 20);

/// read_file(), but nullopt if the file does not exist (ENOENT only; any other failure throws).
[[nodiscard]] std::optional<std::string> read_file_if_exists(const fs::path& path,
                                                             std::uint64_t max_size = 64 << 20);

/// Crash-safe replacement of a file: temp -> write -> fsync -> rename -> fsync dir.
/// `temp_dir` (same filesystem) holds the temporary instead of path's own directory: used for
/// files inside a version or backup, so that a leftover of a killed write lands where the next
/// writer's cleanup looks (the top of versions/ or of a backup type) and never inside the
/// directory a verification reads.
void write_file_atomic(const fs::path& path, std::string_view content, unsigned mode = 0644,
                       const fs::path& temp_dir = {});

/// Atomically makes `link` a symlink to `target` (temp link renamed over the old one).
void replace_symlink(const fs::path& link, const fs::path& target);

/// rename(2) that names both paths in its error, then fsyncs the destination directory.
void rename_durable(const fs::path& from, const fs::path& to);

/// Atomically swaps two paths (renameat2 RENAME_EXCHANGE); false if the filesystem can't.
[[nodiscard]] bool exchange_paths(const fs::path& a, const fs::path& b);

/// Whether something is at `path` (following symlinks). Only "no such file" (ENOENT, ENOTDIR)
/// is false; any other failure to look (permission, I/O) throws, so it is never read as absent.
[[nodiscard]] bool exists(const fs::path& path);
/// exists() without following a final symlink (a dangling link exists).
[[nodiscard]] bool exists_no_follow(const fs::path& path);
/// True if `path` is a directory (following symlinks); false if absent; throws like exists().
[[nodiscard]] bool is_directory(const fs::path& path);
/// True if `path` is a regular file (following symlinks); false if absent; throws like exists().
[[nodiscard]] bool is_regular_file(const fs::path& path);
/// True if `path` itself is a symbolic link; false if absent; throws like exists().
[[nodiscard]] bool is_symlink(const fs::path& path);

/// What a directory entry is, as readdir's d_type tells (lstat where the filesystem does not).
enum class EntryKind { directory, symlink, file, other };

/// Calls `visit` with the name and kind of each entry of `dir` ("." and ".." left out), without
/// a path object or a stat per entry: for directories of many thousands of versions. Returns
/// false if `dir` does not exist; throws "cannot read directory" on any other failure.
bool for_each_entry(const fs::path& dir, const std::function<void(const std::string& name, EntryKind kind)>& visit);

/// After a directory_iterator loop that stopped on `ec`: throws "cannot read directory DIR:
/// <cause>" unless the loop ended normally or the directory does not exist, so that a
/// directory that cannot be read is never listed as empty.
void check_listing(const std::error_code& ec, const fs::path& dir);

/// Creates a directory and its parents, with the path in the error message; each directory it
/// makes is made durable (its parent fsynced).
void create_directories(const fs::path& dir);

/// Removes a file or tree if it exists, with the path in the error message. A read-only tree
/// (a version directory) is made writable first when that is what stops the removal.
void remove_all(const fs::path& path);

/// Takes write permission away from every file and directory under `root` (and `root`
/// itself), so that nothing can be added, removed or rewritten in it by accident (root
/// ignores this; see DESIGN.md); does not follow symlinks.
void make_tree_read_only(const fs::path& root);

/// Gives the owner write permission on every directory under `root` (and `root`), so that
/// its entries can be removed or replaced.
void make_dirs_writable(const fs::path& root);

/// Owner write permission on one directory for the guard's lifetime (to rename a file into a
/// read-only version directory), taken away again afterwards.
class WritableDir {
public:
  explicit WritableDir(fs::path dir);
  WritableDir(const WritableDir&) = delete;
  WritableDir& operator=(const WritableDir&) = delete;
  ~WritableDir();

private:
  fs::path m_dir;
  unsigned m_mode = 0;
  bool m_changed = false;
};

/// Bytes available to an unprivileged writer on the filesystem holding `path`.
[[nodiscard]] std::uint64_t available_space(const fs::path& path);

/// Throws "cannot write <dir>: No space left on device (need X, Y available)" if the
/// filesystem holding `dir` has less than `bytes` (plus a small margin) available.
void require_space(const fs::path& dir, std::uint64_t bytes);

} // namespace modelkeep::util
