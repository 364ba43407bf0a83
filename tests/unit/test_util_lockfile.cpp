#include "util/lockfile.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

using namespace modelkeep;
using std::chrono::milliseconds;

TEST_CASE("a second holder is refused with the first holder's pid and command")
{
  test::ScratchDir dir;
  const auto path = dir / ".modelkeep" / "lock";
  std::filesystem::create_directories(path.parent_path());
  const auto first = util::LockFile::acquire(path, "model-versioner create", milliseconds(0));
  try {
    (void)util::LockFile::acquire(path, "model-versioner delete", milliseconds(120));
    FAIL("second acquire must fail");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::locked);
    const std::string message = error.what();
    CHECK(message.find("store is locked by pid " + std::to_string(::getpid())) == 0);
    CHECK(message.find("(model-versioner create) since ") != std::string::npos);
  }
}

TEST_CASE("the lock is free again once its holder is gone")
{
  test::ScratchDir dir;
  const auto path = dir / "lock";
  {
    const auto first = util::LockFile::acquire(path, "one", milliseconds(0));
  }
  const auto second = util::LockFile::acquire(path, "two", milliseconds(0));
  const auto holder = util::LockFile::read_holder(path);
  REQUIRE(holder.has_value());
  CHECK(holder->command == "two");
  CHECK(holder->pid == ::getpid());
}

TEST_CASE("read_holder of a garbage lock file is empty")
{
  test::ScratchDir dir;
  test::write_text(dir / "lock", "not json");
  CHECK_FALSE(util::LockFile::read_holder(dir / "lock").has_value());
  CHECK_FALSE(util::LockFile::read_holder(dir / "missing").has_value());
}

TEST_CASE("a lock other than the store's names its directory, and its record is never truncated")
{
  test::ScratchDir dir;
  const auto path = dir / "ab" / "lock";
  std::filesystem::create_directories(path.parent_path());
  {
    const auto first = util::LockFile::acquire(path, "a command with a long name", milliseconds(0));
    try {
      (void)util::LockFile::acquire(path, "other", milliseconds(10));
      FAIL("second acquire must fail");
    } catch (const Error& error) {
      CHECK(std::string(error.what()).find((dir / "ab").string() + " is locked by pid ") == 0);
    }
  }
  const auto size = std::filesystem::file_size(path);
  const auto second = util::LockFile::acquire(path, "x", milliseconds(0));
  CHECK(std::filesystem::file_size(path) == size); // padded over the old record
  CHECK(util::LockFile::read_holder(path)->command == "x");
}
