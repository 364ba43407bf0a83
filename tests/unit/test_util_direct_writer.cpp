#include "util/direct_writer.hpp"

#include "test_support.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace modelkeep;
namespace fs = std::filesystem;

TEST_CASE("the sequential writer writes exactly the bytes given, whatever their sizes, direct or not")
{
  test::ScratchDir dir;
  for (const auto& place : test::direct_io_places(dir)) {
    for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096},
                                   (std::size_t{8} << 20) + 3, (std::size_t{17} << 20) + 4097}) {
      std::string content(size, '\0');
      for (std::size_t i = 0; i < size; ++i) {
        content[i] = static_cast<char>((i * 131 + size) & 0xff);
      }
      const fs::path path =
          place / ("modelkeep-direct-" + std::to_string(::getpid()) + "-" + std::to_string(size));
      {
        util::SequentialWriter writer(path, 0640);
        // In uneven pieces, as a caller streaming tensors would.
        for (std::size_t at = 0; at < size;) {
          const std::size_t n = std::min<std::size_t>(size - at, 1000003);
          writer.write({reinterpret_cast<const std::byte*>(content.data()) + at, n});
          at += n;
        }
        writer.finish();
      }
      CHECK(test::read_text(path) == content);
      CHECK((fs::status(path).permissions() & fs::perms::all) ==
            (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
      fs::remove(path);
    }
  }
}

TEST_CASE("the sequential writer gives the file exactly its mode, whatever the umask")
{
  test::ScratchDir dir;
  const mode_t old = ::umask(077);
  {
    util::SequentialWriter writer(dir.path() / "f", 0644);
    writer.write({reinterpret_cast<const std::byte*>("abc"), 3});
    writer.finish(true);
  }
  ::umask(old);
  CHECK((fs::status(dir.path() / "f").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));
  CHECK(test::read_text(dir.path() / "f") == "abc");
}

namespace {

/// A disk that is full from the n-th write on.
class FullDisk : public util::Env {
public:
  explicit FullDisk(int first_failing) : m_first_failing(first_failing) {}
  ssize_t write(int fd, const void* data, std::size_t size) override
  {
    if (m_writes++ >= m_first_failing) {
      errno = ENOSPC;
      return -1;
    }
    return Env::write(fd, data, size);
  }

private:
  int m_first_failing;
  int m_writes = 0;
};

} // namespace

TEST_CASE("a write that fails on the writer's thread is raised by the caller's next write or by finish, never lost")
{
  test::ScratchDir dir;
  const std::string block(std::size_t{8} << 20, 'w');
  for (const int first_failing : {0, 1, 2}) {
    CAPTURE(first_failing);
    FullDisk disk(first_failing);
    const util::ScopedEnv installed(disk);
    const fs::path path = dir.path() / ("full-" + std::to_string(first_failing));
    std::string error;
    try {
      util::SequentialWriter writer(path, 0644);
      for (int i = 0; i < 4; ++i) { // four full buffers: the thread writes them
        writer.write({reinterpret_cast<const std::byte*>(block.data()), block.size()});
      }
      writer.finish();
    } catch (const Error& e) {
      error = e.what();
    }
    CHECK(error.find("cannot write") != std::string::npos);
    CHECK(error.find(path.string()) != std::string::npos);
    fs::remove(path);
  }
}
