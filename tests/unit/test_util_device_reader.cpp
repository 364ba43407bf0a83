#include "util/device_reader.hpp"

#include "test_support.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

using namespace modelkeep;
namespace fs = std::filesystem;

TEST_CASE("the device reader returns exactly the file's bytes in order, direct or not, at every size")
{
  test::ScratchDir dir;
  constexpr std::size_t block = std::size_t{16} << 20;
  for (const auto& place : test::direct_io_places(dir)) {
    for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, block - 1, block, block + 1,
                                   2 * block, (5 * block) / 2 + 4097}) {
      CAPTURE(place);
      CAPTURE(size);
      std::string content(size, '\0');
      for (std::size_t i = 0; i < size; ++i) {
        content[i] = static_cast<char>((i * 131 + size) & 0xff);
      }
      const fs::path path = place / ("modelkeep-device-" + std::to_string(::getpid()) + "-" + std::to_string(size));
      util::write_file_atomic(path, content);
      std::string read;
      std::size_t blocks = 0;
      {
        util::DeviceReader reader(path);
        for (auto bytes = reader.next(); !bytes.empty(); bytes = reader.next()) {
          read.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          ++blocks;
        }
        CHECK(reader.next().empty()); // and stays at the end
      }
      CHECK(read.size() == content.size());
      CHECK(read == content);
      CHECK(blocks == (size + block - 1) / block);
      fs::remove(path);
    }
  }
}

TEST_CASE("the device reader stops early without hanging, and reports a read error as an Error")
{
  test::ScratchDir dir;
  const fs::path path = dir.path() / "big";
  util::write_file_atomic(path, std::string((std::size_t{40} << 20) + 5, 'x'));
  {
    util::DeviceReader reader(path);
    CHECK(reader.next().size() == std::size_t{16} << 20);
  } // destroyed while the next block is being read ahead
  const fs::path directory = dir.path() / "a-directory";
  fs::create_directory(directory);
  util::DeviceReader reader(directory);
  CHECK_THROWS_AS((void)reader.next(), Error);
}

TEST_CASE("sha256_file gives the same digest read from the cache or from the device, small file or large")
{
  test::ScratchDir dir;
  for (const std::size_t size : {std::size_t{0}, std::size_t{100}, std::size_t{1} << 20, (std::size_t{33} << 20) + 7}) {
    CAPTURE(size);
    std::string content(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
      content[i] = static_cast<char>((i * 7 + 3) & 0xff);
    }
    const fs::path path = dir.path() / ("file-" + std::to_string(size));
    util::write_file_atomic(path, content);
    CHECK(util::sha256_file(path, nullptr, util::ReadFrom::device) == util::sha256_hex(content));
    CHECK(util::sha256_file(path, nullptr, util::ReadFrom::cache) == util::sha256_hex(content));
  }
}
