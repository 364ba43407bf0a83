#include "core/store.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST_CASE("the root comes from --root, then $MODELKEEP_ROOT, then ./models")
{
  ::unsetenv("MODELKEEP_ROOT");
  CHECK(core::Store::choose_root(std::nullopt) == "models");
  ::setenv("MODELKEEP_ROOT", "/env/root", 1);
  CHECK(core::Store::choose_root(std::nullopt) == "/env/root");
  CHECK(core::Store::choose_root(std::string("/cli")) == "/cli");
  ::unsetenv("MODELKEEP_ROOT");
}

TEST_CASE("layout and existence")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  CHECK_FALSE(store.exists());
  CHECK_THROWS_AS(store.require_exists(), Error);
  store.ensure_layout();
  CHECK(store.exists());
  CHECK(fs::is_directory(store.backups_dir()));
  CHECK(fs::is_directory(store.consolidated_dir()));
  CHECK(fs::is_directory(store.state_dir()));
}

TEST_CASE("a writer removes leftovers of killed runs and nothing else")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  test::write_text(store.versions_dir() / ".v002_x.tmp-99-0" / "adapter" / "f", "partial");
  test::write_text(store.versions_dir() / "v001_20251116_143000_a" / "metadata.json", "{}");
  test::write_text(store.backups_dir() / "pre_restore" / ".m_20251116_143000.tmp-99-1" / "data" / "f",
                   "partial");
  test::write_text(store.backups_dir() / "pre_restore" / "m_20251116_143000" / "backup.json", "{}");
  test::write_text(store.state_dir() / ".next_version.tmp-99-2", "7");
  const auto lock = store.lock_for_writing("test", milliseconds(0));
  CHECK_FALSE(fs::exists(store.versions_dir() / ".v002_x.tmp-99-0"));
  CHECK_FALSE(fs::exists(store.backups_dir() / "pre_restore" / ".m_20251116_143000.tmp-99-1"));
  CHECK_FALSE(fs::exists(store.state_dir() / ".next_version.tmp-99-2"));
  CHECK(fs::exists(store.versions_dir() / "v001_20251116_143000_a" / "metadata.json"));
  CHECK(fs::exists(store.backups_dir() / "pre_restore" / "m_20251116_143000" / "backup.json"));
  CHECK(fs::read_symlink(store.versions_dir() / "latest") == "v001_20251116_143000_a");
}

TEST_CASE("two writers exclude each other")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  const auto first = store.lock_for_writing("model-versioner create", milliseconds(0));
  try {
    (void)store.lock_for_writing("model-versioner delete", milliseconds(50));
    FAIL("expected the store to be locked");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::locked);
    CHECK(std::string(error.what()).find("(model-versioner create)") != std::string::npos);
  }
}
