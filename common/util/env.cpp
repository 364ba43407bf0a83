#include "util/env.hpp"

#include <atomic>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::util {

Env::~Env() = default;

int Env::open(const std::filesystem::path& path, int flags, unsigned mode)
{
  return ::open(path.c_str(), flags, mode);
}

int Env::close(int fd)
{
  return ::close(fd);
}

ssize_t Env::write(int fd, const void* data, std::size_t size)
{
  return ::write(fd, data, size);
}

ssize_t Env::pwrite(int fd, const void* data, std::size_t size, off_t offset)
{
  return ::pwrite(fd, data, size, offset);
}

int Env::fsync(int fd)
{
  return ::fsync(fd);
}

int Env::fchmod(int fd, unsigned mode)
{
  return ::fchmod(fd, mode);
}

int Env::chmod(const std::filesystem::path& path, unsigned mode)
{
  return ::chmod(path.c_str(), mode);
}

int Env::rename(const std::filesystem::path& from, const std::filesystem::path& to)
{
  return ::rename(from.c_str(), to.c_str());
}

int Env::exchange(const std::filesystem::path& a, const std::filesystem::path& b)
{
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE);
}

int Env::link(const std::filesystem::path& from, const std::filesystem::path& to)
{
  return ::link(from.c_str(), to.c_str());
}

int Env::symlink(const std::filesystem::path& target, const std::filesystem::path& link)
{
  return ::symlink(target.c_str(), link.c_str());
}

int Env::unlink(const std::filesystem::path& path)
{
  return ::unlink(path.c_str());
}

int Env::mkdir(const std::filesystem::path& path, unsigned mode)
{
  return ::mkdir(path.c_str(), mode);
}

int Env::rmdir(const std::filesystem::path& path)
{
  return ::rmdir(path.c_str());
}

int Env::reflink(int dest_fd, int source_fd)
{
  return ::ioctl(dest_fd, FICLONE, source_fd);
}

namespace {

Env& real_env()
{
  static Env real;
  return real;
}

std::atomic<Env*> s_env{nullptr};

} // namespace

Env& env()
{
  Env* installed = s_env.load(std::memory_order_acquire);
  return installed != nullptr ? *installed : real_env();
}

ScopedEnv::ScopedEnv(Env& env) : m_previous(s_env.exchange(&env, std::memory_order_acq_rel)) {}

ScopedEnv::~ScopedEnv()
{
  s_env.store(m_previous, std::memory_order_release);
}

} // namespace modelkeep::util
