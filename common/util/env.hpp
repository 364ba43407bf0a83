#pragma once

// Every call that changes what is on disk goes through one Env (LevelDB's include/leveldb/env.h
// is the model): creating and opening files for writing, writing, fsync, rename, links,
// unlink, mkdir, rmdir, permission changes and reflinks. The real implementation is the
// default; tests install another one to record the sequence of writes with their contents
// (tests/crashcheck builds every state a power cut may leave from it) or to make the disk
// fail (EIO from fsync, ENOSPC, short writes).
//
// Calling sequence: code calls util::env().<op>(...) where it would call the system call; the
// functions have the system calls' contract (a result of -1 sets errno), so the caller's
// error handling is the same for the real disk and an injected failure. Reads do not go
// through the Env: they change nothing.
//
// Error handling: an Env never throws; the helpers of util/file.hpp turn its errors into
// modelkeep::Error with the path and the cause. An fsync that fails is never retried: after
// a failed fsync the kernel may have dropped the dirty pages, so a second fsync that succeeds
// proves nothing (PostgreSQL's "fsyncgate"); the command fails instead.

#include <cstddef>
#include <filesystem>
#include <sys/types.h>

namespace modelkeep::util {

class Env {
public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env();

  /// open(2). Reads go through here too when the descriptor may be fsynced (a directory).
  virtual int open(const std::filesystem::path& path, int flags, unsigned mode);
  /// close(2).
  virtual int close(int fd);
  /// write(2): may write fewer bytes than asked (callers loop).
  virtual ssize_t write(int fd, const void* data, std::size_t size);
  /// pwrite(2).
  virtual ssize_t pwrite(int fd, const void* data, std::size_t size, off_t offset);
  /// fsync(2) of a file or a directory.
  virtual int fsync(int fd);
  /// fchmod(2).
  virtual int fchmod(int fd, unsigned mode);
  /// chmod(2).
  virtual int chmod(const std::filesystem::path& path, unsigned mode);
  /// rename(2).
  virtual int rename(const std::filesystem::path& from, const std::filesystem::path& to);
  /// renameat2(2) with RENAME_EXCHANGE: swaps two paths atomically.
  virtual int exchange(const std::filesystem::path& a, const std::filesystem::path& b);
  /// link(2).
  virtual int link(const std::filesystem::path& from, const std::filesystem::path& to);
  /// symlink(2): makes `link` a symbolic link holding `target`.
  virtual int symlink(const std::filesystem::path& target, const std::filesystem::path& link);
  /// unlink(2).
  virtual int unlink(const std::filesystem::path& path);
  /// mkdir(2).
  virtual int mkdir(const std::filesystem::path& path, unsigned mode);
  /// rmdir(2).
  virtual int rmdir(const std::filesystem::path& path);
  /// ioctl(FICLONE): `dest_fd`'s file shares `source_fd`'s blocks (a reflink).
  virtual int reflink(int dest_fd, int source_fd);
};

/// The Env in use: the real one unless a test installed another (ScopedEnv).
[[nodiscard]] Env& env();

/// Installs `env` for its lifetime (the previous one afterwards). For tests: install it before
/// the work starts and while no other thread does file work.
class ScopedEnv {
public:
  explicit ScopedEnv(Env& env);
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv();

private:
  Env* m_previous;
};

} // namespace modelkeep::util
