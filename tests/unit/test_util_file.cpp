#include "util/file.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

std::size_t count_entries(const fs::path& dir)
{
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

} // namespace

TEST_CASE("write_file_atomic creates and replaces a file, leaving no temporary")
{
  test::ScratchDir dir;
  util::write_file_atomic(dir / "a.json", "first");
  CHECK(test::read_text(dir / "a.json") == "first");
  util::write_file_atomic(dir / "a.json", "second", 0600);
  CHECK(test::read_text(dir / "a.json") == "second");
  CHECK(count_entries(dir.path()) == 1);
  struct stat st {};
  REQUIRE(::stat((dir / "a.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("write_file_atomic into a missing directory fails and names the path")
{
  test::ScratchDir dir;
  CHECK_THROWS_WITH_AS(util::write_file_atomic(dir / "missing" / "a", "x"),
                       doctest::Contains("cannot create"), Error);
}

TEST_CASE("temporary names carry the .tmp marker and are unique")
{
  const auto a = util::temp_path_for("/x/v001_name");
  const auto b = util::temp_path_for("/x/v001_name");
  CHECK(a != b);
  CHECK(a.parent_path() == "/x");
  CHECK(util::is_temp_name(a.filename().string()));
  CHECK(util::is_temp_name(util::temp_path_for("/x/y", "restore").filename().string()));
  CHECK_FALSE(util::is_temp_name("v001_20251116_143000_initial_training"));
}

TEST_CASE("replace_symlink points a link at a new target atomically")
{
  test::ScratchDir dir;
  util::replace_symlink(dir / "latest", "v001");
  CHECK(fs::read_symlink(dir / "latest") == "v001");
  util::replace_symlink(dir / "latest", "v002");
  CHECK(fs::read_symlink(dir / "latest") == "v002");
  CHECK(count_entries(dir.path()) == 1);
}

TEST_CASE("read_file refuses files above the limit")
{
  test::ScratchDir dir;
  test::write_text(dir / "f", "0123456789");
  CHECK(util::read_file(dir / "f") == "0123456789");
  CHECK_THROWS_AS((void)util::read_file(dir / "f", 5), Error);
}

TEST_CASE("exchange_paths swaps two directories")
{
  test::ScratchDir dir;
  test::write_text(dir / "a" / "f", "A");
  test::write_text(dir / "b" / "f", "B");
  if (util::exchange_paths(dir / "a", dir / "b")) {
    CHECK(test::read_text(dir / "a" / "f") == "B");
    CHECK(test::read_text(dir / "b" / "f") == "A");
  } else {
    MESSAGE("filesystem without RENAME_EXCHANGE; fallback path is used");
  }
}

TEST_CASE("rename_durable names both paths when it fails")
{
  test::ScratchDir dir;
  CHECK_THROWS_WITH_AS(util::rename_durable(dir / "nope", dir / "dest"),
                       doctest::Contains(("cannot rename " + (dir / "nope").string()).c_str()), Error);
}

TEST_CASE("require_space reports No space left on device with the path")
{
  test::ScratchDir dir;
  CHECK_NOTHROW(util::require_space(dir.path(), 1));
  CHECK_THROWS_WITH_AS(util::require_space(dir.path(), std::uint64_t{1} << 62),
                       doctest::Contains("No space left on device"), Error);
}
