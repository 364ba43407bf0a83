#include "util/copy.hpp"

#include "test_support.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace modelkeep;

TEST_CASE("copy_file_hashed copies, hashes and keeps the mode")
{
  test::ScratchDir dir;
  const std::string content(util::k_io_block + 5, 'z');
  test::write_text(dir / "src", content);
  const auto copied = util::copy_file_hashed(dir / "src", dir / "dst", 0640, nullptr);
  CHECK(copied.size == content.size());
  CHECK(copied.sha256 == util::sha256_hex(content));
  CHECK(test::read_text(dir / "dst") == content);
  struct stat st {};
  REQUIRE(::stat((dir / "dst").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("copy_file_hashed never overwrites an existing file")
{
  test::ScratchDir dir;
  test::write_text(dir / "src", "new");
  test::write_text(dir / "dst", "old");
  CHECK_THROWS_AS((void)util::copy_file_hashed(dir / "src", dir / "dst", 0644, nullptr), Error);
  CHECK(test::read_text(dir / "dst") == "old");
}
