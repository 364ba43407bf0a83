#include "util/env.hpp"

#include "core/versions/recovery.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version.hpp"
#include "core/versions/version_ops.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <cerrno>
#include <algorithm>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

/// A disk that fails: the n-th fsync returns EIO, the n-th write ENOSPC, or every write is
/// short (at most `max_write` bytes), as real disks and filesystems may.
class FailingDisk : public util::Env {
public:
  int fail_fsync = -1;
  int fail_write = -1;
  std::size_t max_write = 0;
  int fsyncs = 0;
  int writes = 0;
  int fsyncs_after_failure = 0; ///< of the descriptor whose fsync failed

  ssize_t write(int fd, const void* data, std::size_t size) override
  {
    if (writes++ == fail_write) {
      errno = ENOSPC;
      return -1;
    }
    return Env::write(fd, data, max_write != 0 ? std::min(size, max_write) : size);
  }
  ssize_t pwrite(int fd, const void* data, std::size_t size, off_t offset) override
  {
    if (writes++ == fail_write) {
      errno = ENOSPC;
      return -1;
    }
    return Env::pwrite(fd, data, size, offset);
  }
  int fsync(int fd) override
  {
    if (fd == m_failed_fd) {
      ++fsyncs_after_failure;
    }
    if (fsyncs++ == fail_fsync) {
      m_failed_fd = fd;
      errno = EIO;
      return -1;
    }
    return Env::fsync(fd);
  }

private:
  int m_failed_fd = -1;
};

/// Names in `dir` and below (temporaries included), for "nothing was left behind".
std::vector<std::string> tree_names(const fs::path& dir)
{
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(entry.path().lexically_relative(dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST_CASE("an fsync that fails with EIO fails write_file_atomic, is not retried, and leaves nothing")
{
  test::ScratchDir dir;
  FailingDisk disk;
  disk.fail_fsync = 0;
  {
    const util::ScopedEnv installed(disk);
    CHECK_THROWS_WITH_AS(util::write_file_atomic(dir / "a.json", "data"),
                         doctest::Contains("cannot fsync"), Error);
  }
  CHECK(disk.fsyncs_after_failure == 0);
  CHECK(tree_names(dir.path()).empty());
}

TEST_CASE("short writes are completed: a version made through a disk that writes 1000 bytes at a time verifies")
{
  test::ScratchStore s;
  FailingDisk disk;
  disk.max_write = 1000;
  const util::ScopedEnv installed(disk);
  const std::string name = s.add_version(std::string(70000, 'x'));
  const auto check = core::verify_version(core::resolve_version(s.store, core::VersionRef::parse(name)), false);
  CHECK(check.ok());
}

TEST_CASE("create fails at every write that hits ENOSPC and at every fsync that fails, leaving verified versions and no temporary")
{
  // Each write and each fsync of one create, failed in turn: the command fails with the cause,
  // the store holds what it held before (after the next writer's cleanup), and the next create
  // succeeds.
  for (const bool fsync_fails : {false, true}) {
    int tried = 0;
    for (int n = 0;; ++n) {
      CAPTURE(fsync_fails);
      CAPTURE(n);
      test::ScratchStore s;
      const std::string first = s.add_version("first");
      FailingDisk disk;
      (fsync_fails ? disk.fail_fsync : disk.fail_write) = n;
      bool failed = false;
      {
        const util::ScopedEnv installed(disk);
        try {
          (void)s.add_version(std::string(20000, 'y'));
        } catch (const Error& e) {
          failed = true;
          CHECK(std::string(e.what()).find(fsync_fails ? "Input/output error" : "No space left on device") !=
                std::string::npos);
        }
      }
      if (n >= (fsync_fails ? disk.fsyncs : disk.writes)) {
        CHECK(!failed);
        CHECK(n > 3); // the failure points ran out: every one was tried
        break;
      }
      tried += 1;
      // A failure after the version was renamed into place (its event's fsync) leaves the
      // version complete: either way every listed version verifies and latest is the newest.
      const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5));
      const auto versions = core::list_versions(s.store);
      REQUIRE(!versions.empty());
      CHECK(versions.size() <= 2);
      CHECK(versions[0].name == first);
      for (const auto& version : versions) {
        CHECK(core::verify_version(version, false).ok());
      }
      CHECK(core::read_latest_link(s.store) == versions.back().name);
      for (const auto& name : tree_names(s.store.versions_dir())) {
        CHECK_MESSAGE(!util::is_temp_name(name), "left behind: " << name);
      }
    }
    MESSAGE((fsync_fails ? "fsyncs" : "writes") << " failed in turn: " << tried);
  }
}
