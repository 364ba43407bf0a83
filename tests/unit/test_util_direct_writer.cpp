#include "util/direct_writer.hpp"

#include "test_support.hpp"

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
