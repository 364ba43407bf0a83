#include "util/file.hpp"

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/text.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <memory>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace modelkeep::util {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      env().close(m_fd);
    }
    m_fd = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd()
{
  if (m_fd >= 0) {
    env().close(m_fd);
  }
}

int UniqueFd::release() noexcept
{
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

void UniqueFd::close(const fs::path& path)
{
  const int fd = release();
  if (fd >= 0 && env().close(fd) != 0) {
    throw_errno("cannot close", path);
  }
}

bool is_temp_name(std::string_view name)
{
  return name.find(k_temp_marker) != std::string_view::npos;
}

fs::path temp_path_for(const fs::path& path, std::string_view tag)
{
  static std::atomic<unsigned> counter{0};
  std::string name = ".";
  name += path.filename().string();
  if (!tag.empty()) {
    name += '.';
    name += tag;
  }
  name += k_temp_marker;
  name += '-' + std::to_string(::getpid()) + '-' + std::to_string(counter++);
  return path.parent_path() / name;
}

UniqueFd open_for_reading(const fs::path& path)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno("cannot open", path);
  }
  return UniqueFd(fd);
}

UniqueFd create_exclusive(const fs::path& path, unsigned mode)
{
  const int fd = env().open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    throw_errno("cannot create", path);
  }
  return UniqueFd(fd);
}

std::size_t read_some(int fd, void* buffer, std::size_t size, const fs::path& path)
{
  for (;;) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      throw_errno("cannot read", path);
    }
  }
}

void write_all(int fd, std::string_view data, const fs::path& path)
{
  while (!data.empty()) {
    const ssize_t n = env().write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_fd(int fd, const fs::path& path)
{
  if (env().fsync(fd) != 0) {
    throw_errno("cannot fsync", path);
  }
}

void fsync_file(const fs::path& path)
{
  const int raw = env().open(path, O_RDONLY | O_CLOEXEC, 0);
  if (raw < 0) {
    throw_errno("cannot open", path);
  }
  UniqueFd fd(raw);
  fsync_fd(fd.get(), path);
}

void fsync_dir(const fs::path& dir)
{
  const fs::path target = dir.empty() ? fs::path(".") : dir;
  const int fd = env().open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno("cannot open directory", target);
  }
  UniqueFd owner(fd);
  fsync_fd(fd, target);
}

namespace {

std::string read_all(UniqueFd fd, const fs::path& path, std::uint64_t max_size)
{
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat", path);
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    throw Error(ExitCode::malformed,
                "file too large " + path.string() + ": " + std::to_string(st.st_size) + " bytes");
  }
  std::string content;
  content.reserve(static_cast<size_t>(st.st_size));
  char buffer[65536];
  while (const std::size_t n = read_some(fd.get(), buffer, sizeof buffer, path)) {
    content.append(buffer, n);
  }
  return content;
}

} // namespace

std::string read_file(const fs::path& path, std::uint64_t max_size)
{
  return read_all(open_for_reading(path), path, max_size);
}

std::optional<std::string> read_file_if_exists(const fs::path& path, std::uint64_t max_size)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw_errno("cannot open", path);
  }
  return read_all(UniqueFd(fd), path, max_size);
}

TempPath::~TempPath()
{
  if (!m_committed && !m_path.empty()) {
    try {
      util::remove_all(m_path);
    } catch (const std::exception&) {
      // A leftover temporary: the next writer's cleanup removes it.
    }
  }
}

void write_file_atomic(const fs::path& path, std::string_view content, unsigned mode,
                       const fs::path& temp_dir)
{
  const fs::path temp = temp_dir.empty() ? temp_path_for(path) : temp_path_for(temp_dir / path.filename());
  TempPath guard(temp);
  UniqueFd fd = create_exclusive(temp, mode);
  write_all(fd.get(), content, temp);
  failpoint("atomic_write.after_temp_write");
  fsync_fd(fd.get(), temp);
  failpoint("atomic_write.after_fsync");
  fd.close(temp);
  if (env().rename(temp, path) != 0) {
    throw_errno("cannot rename " + temp.string() + " to", path);
  }
  guard.commit();
  failpoint("atomic_write.after_rename");
  fsync_dir(path.parent_path());
  if (!temp_dir.empty() && temp_dir != path.parent_path()) {
    fsync_dir(temp_dir);
  }
}

void replace_symlink(const fs::path& link, const fs::path& target)
{
  const fs::path temp = temp_path_for(link);
  if (env().symlink(target, temp) != 0) {
    throw_errno("cannot create symlink", temp);
  }
  TempPath guard(temp);
  failpoint("symlink.before_rename");
  if (env().rename(temp, link) != 0) {
    throw_errno("cannot rename " + temp.string() + " to", link);
  }
  guard.commit();
  fsync_dir(link.parent_path());
}

void rename_durable(const fs::path& from, const fs::path& to)
{
  if (env().rename(from, to) != 0) {
    throw_errno("cannot rename " + from.string() + " to", to);
  }
  failpoint("rename.before_dir_fsync");
  fsync_dir(to.parent_path());
  if (from.parent_path() != to.parent_path()) {
    fsync_dir(from.parent_path());
  }
}

bool exchange_paths(const fs::path& a, const fs::path& b)
{
  if (env().exchange(a, b) == 0) {
    fsync_dir(b.parent_path());
    return true;
  }
  if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
    return false;
  }
  throw_errno("cannot exchange " + a.string() + " and", b);
}

void create_directories(const fs::path& dir)
{
  if (dir.empty() || util::is_directory(dir)) {
    return;
  }
  const fs::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    util::create_directories(parent);
  }
  if (env().mkdir(dir, 0777) != 0) {
    if (errno == EEXIST && util::is_directory(dir)) {
      return; // made by another process meanwhile
    }
    throw_errno("cannot create directory", dir);
  }
  // The new name is durable only once its directory is synced (POSIX: a later fsync of the
  // directory itself says nothing about its name in the parent).
  fsync_dir(parent);
}

namespace {

/// stat or lstat of `path`; nullopt when there is nothing there.
std::optional<struct stat> stat_of(const fs::path& path, bool follow)
{
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) == 0) {
    return st;
  }
  if (errno == ENOENT || errno == ENOTDIR) {
    return std::nullopt;
  }
  throw_errno("cannot look at", path);
}

} // namespace

bool exists(const fs::path& path)
{
  return stat_of(path, true).has_value();
}

bool exists_no_follow(const fs::path& path)
{
  return stat_of(path, false).has_value();
}

bool is_directory(const fs::path& path)
{
  const auto st = stat_of(path, true);
  return st && S_ISDIR(st->st_mode);
}

bool is_regular_file(const fs::path& path)
{
  const auto st = stat_of(path, true);
  return st && S_ISREG(st->st_mode);
}

bool is_symlink(const fs::path& path)
{
  const auto st = stat_of(path, false);
  return st && S_ISLNK(st->st_mode);
}

bool for_each_entry(const fs::path& dir, const std::function<void(const std::string& name, EntryKind kind)>& visit)
{
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return false;
    }
    throw_errno("cannot read directory", dir);
  }
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    const int saved = errno;
    ::close(fd);
    throw sys_error("cannot read directory", dir, saved);
  }
  const std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, ::closedir);
  std::string name;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      if (errno != 0) {
        throw_errno("cannot read directory", dir);
      }
      return true;
    }
    name.assign(entry->d_name);
    if (name == "." || name == "..") {
      continue;
    }
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(::dirfd(stream), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue; // removed while listed
      }
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    visit(name, type == DT_DIR   ? EntryKind::directory
                : type == DT_LNK ? EntryKind::symlink
                : type == DT_REG ? EntryKind::file
                                 : EntryKind::other);
  }
}

void check_listing(const std::error_code& ec, const fs::path& dir)
{
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    throw sys_error("cannot read directory", dir, ec.value());
  }
}

namespace {

/// Removes `path` and everything under it through the Env, children first; 0 or the errno of
/// the first failure.
int remove_tree(const fs::path& path)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? 0 : errno;
  }
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    std::vector<fs::path> children;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path());
    }
    if (ec) {
      return ec.value();
    }
    for (const auto& child : children) {
      if (const int err = remove_tree(child)) {
        return err;
      }
    }
    return env().rmdir(path) == 0 || errno == ENOENT ? 0 : errno;
  }
  return env().unlink(path) == 0 || errno == ENOENT ? 0 : errno;
}

} // namespace

void remove_all(const fs::path& path)
{
  int err = remove_tree(path);
  if (err == EACCES || err == EPERM) {
    make_dirs_writable(path);
    err = remove_tree(path);
  }
  if (err != 0) {
    throw sys_error("cannot remove", path, err);
  }
}

namespace {

/// Calls visit(path, st) for `root` and everything under it, directories after their
/// entries; symlinks are visited, never followed.
template <typename Visit> void walk_bottom_up(const fs::path& root, Visit&& visit)
{
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return;
    }
    throw_errno("cannot stat", root);
  }
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    std::vector<fs::path> children;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path());
    }
    check_listing(ec, root);
    for (const auto& child : children) {
      walk_bottom_up(child, visit);
    }
  }
  visit(root, st);
}

void change_mode(const fs::path& path, unsigned mode)
{
  if (env().chmod(path, mode) != 0) {
    throw_errno("cannot change the permissions of", path);
  }
}

} // namespace

void make_tree_read_only(const fs::path& root)
{
  walk_bottom_up(root, [](const fs::path& path, const struct stat& st) {
    if (!S_ISLNK(st.st_mode) && (st.st_mode & 0222) != 0) {
      change_mode(path, st.st_mode & 07555);
    }
  });
}

void make_dirs_writable(const fs::path& root)
{
  // Top-down: a read-only directory must be opened for writing before its children change.
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return;
  }
  if ((st.st_mode & 0700) != 0700) {
    change_mode(root, (st.st_mode & 07777) | 0700);
  }
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec) && !it->is_symlink(type_ec)) {
      make_dirs_writable(it->path());
    }
  }
}

WritableDir::WritableDir(fs::path dir) : m_dir(std::move(dir))
{
  struct stat st {};
  if (::stat(m_dir.c_str(), &st) != 0) {
    throw_errno("cannot stat", m_dir);
  }
  m_mode = st.st_mode & 07777;
  if ((m_mode & 0200) == 0) {
    change_mode(m_dir, m_mode | 0200);
    m_changed = true;
  }
}

WritableDir::~WritableDir()
{
  if (m_changed) {
    (void)env().chmod(m_dir, m_mode);
  }
}

std::uint64_t available_space(const fs::path& path)
{
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    throw_errno("cannot stat filesystem of", path);
  }
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void require_space(const fs::path& dir, std::uint64_t bytes)
{
  const std::uint64_t margin = 1 << 20;
  const std::uint64_t available = available_space(dir);
  if (available < bytes + margin) {
    throw Error(ExitCode::failed, "cannot write " + dir.string() + ": " + errno_text(ENOSPC) + " (need " +
                                      human_size(bytes) + ", " + human_size(available) + " available)");
  }
}

} // namespace modelkeep::util
