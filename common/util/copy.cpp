#include "util/copy.hpp"

#include "util/direct_writer.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/progress.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace modelkeep::util {

namespace {

struct stat stat_fd(int fd, const std::filesystem::path& path)
{
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw_errno("cannot stat", path);
  }
  return st;
}

bool same_version(const struct stat& a, const struct stat& b)
{
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

} // namespace

CopiedFile copy_file_hashed(const std::filesystem::path& source, const std::filesystem::path& dest,
                            unsigned mode, Progress* progress, DropCache drop_cache)
{
  UniqueFd in = open_for_reading(source);
  const struct stat before = stat_fd(in.get(), source);
  ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  // Written through O_DIRECT where the filesystem allows it (util::SequentialWriter): on these
  // machines the page cache's write path cost 3-4 s of kernel time per 2 GiB copied.
  SequentialWriter out(dest, mode);
  std::vector<char> buffer(k_io_block);
  Sha256 hasher;
  CopiedFile copied;
  while (const std::size_t n = read_some(in.get(), buffer.data(), buffer.size(), source)) {
    hasher.update(buffer.data(), n);
    out.write({reinterpret_cast<const std::byte*>(buffer.data()), n});
    copied.size += n;
    if (progress != nullptr) {
      progress->add(n);
    }
    failpoint("copy.after_block");
  }
  const struct stat after = stat_fd(in.get(), source);
  if (!same_version(before, after) || copied.size != static_cast<std::uint64_t>(after.st_size)) {
    throw Error(ExitCode::failed,
                "source changed while it was copied " + source.string() + ": stop the writer and try again");
  }
  out.finish(drop_cache == DropCache::yes);
  copied.sha256 = hasher.hex_final();
  return copied;
}

} // namespace modelkeep::util
