#include "core/layout/objects.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/version_ops.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

/// Makes a file look written an hour ago, so that a hash taken now is not racy.
void age(const fs::path& path)
{
  fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(1));
}

std::int64_t now_ns()
{
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct IngestFixture : test::ScratchStore {
  core::StatCache cache;

  std::vector<core::SourceFile> source(const std::string& content)
  {
    test::write_text(dir / "src" / "big.bin", content);
    age(dir / "src" / "big.bin");
    if (!fs::exists(dir / "src" / "sub" / "config.json")) {
      test::write_text(dir / "src" / "sub" / "config.json", "{}");
      age(dir / "src" / "sub" / "config.json");
    }
    return core::scan_tree(dir / "src");
  }

  core::Manifest ingest(const std::vector<core::SourceFile>& files, const std::string& dest,
                        core::IngestStats& stats, core::LinkMode mode = core::LinkMode::automatic)
  {
    return core::ingest_tree(store, files, dir / dest, mode, cache, nullptr, stats);
  }
};

} // namespace

TEST_CASE("the stat cache trusts an unchanged stamp, never a racy or changed one")
{
  test::ScratchStore s;
  const fs::path file = s.dir / "f";
  test::write_text(file, "content");
  age(file);
  const auto stamp = core::FileStamp::of(file);
  REQUIRE(stamp);
  core::StatCache cache;
  const std::string sha(64, 'a');
  cache.remember(file, *stamp, sha, now_ns());
  CHECK(cache.lookup(file, *stamp) == sha);
  auto changed = *stamp;
  changed.size += 1;
  CHECK_FALSE(cache.lookup(file, changed));
  // Hashed within the timestamp guard of its modification: a later write in the same tick
  // would not show in the stamp, so the entry is not trusted.
  cache.remember(file, *stamp, sha, stamp->mtime_ns + 1'000'000);
  CHECK_FALSE(cache.lookup(file, *stamp));

  cache.remember(file, *stamp, sha, now_ns());
  cache.save(s.store);
  const auto loaded = core::StatCache::load(s.store);
  CHECK(loaded.lookup(file, *stamp) == sha);
  test::write_text(s.store.state_dir() / "statcache.json", "{not json");
  CHECK_FALSE(core::StatCache::load(s.store).lookup(file, *stamp));
}

TEST_CASE(
    "ingest stores new content once as read-only objects and links unchanged files without reading them")
{
  IngestFixture f;
  const auto files = f.source(std::string(100000, 'x'));
  core::IngestStats first;
  const auto m1 = f.ingest(files, "v1", first);
  CHECK(first.files_stored == 2);
  CHECK(first.bytes_read == 100002);
  for (const auto& entry : m1.files()) {
    const fs::path object = core::object_path(f.store, entry.sha256);
    REQUIRE(fs::exists(object));
    struct stat st {};
    REQUIRE(::stat(object.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0444);
  }
  core::IngestStats second;
  const auto m2 = f.ingest(files, "v2", second);
  CHECK(m2.digest() == m1.digest());
  CHECK(second.files_linked == 2);
  CHECK(second.files_stored == 0);
  CHECK(second.bytes_read == 0);
  CHECK(m2.files()[0].mode == m1.files()[0].mode);
  if (second.used == core::LinkMode::hardlink) {
    CHECK(fs::equivalent(f.dir / "v1" / "big.bin", f.dir / "v2" / "big.bin"));
  }
  // A changed file is read and stored; the unchanged one still is not.
  const auto changed = f.source(std::string(100000, 'y'));
  core::IngestStats third;
  (void)f.ingest(changed, "v3", third);
  CHECK(third.files_stored == 1);
  CHECK(third.bytes_read == 100000);
}

TEST_CASE("copy mode makes plain private files and no objects")
{
  IngestFixture f;
  core::IngestStats stats;
  const auto m = f.ingest(f.source("abc"), "v1", stats, core::LinkMode::copy);
  CHECK(m.file_count() == 2);
  CHECK_FALSE(fs::exists(core::objects_dir(f.store)));
  CHECK(stats.used == core::LinkMode::copy);
  CHECK_THROWS_AS((void)core::parse_link_mode("symlink"), Error);
  CHECK(core::parse_link_mode("hardlink") == core::LinkMode::hardlink);
}

TEST_CASE("objects no version names any more are pruned, shared ones stay")
{
  test::ScratchStore s;
  const auto v1 = s.add_version("one");
  const auto v2 = s.add_version("two");
  std::size_t objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(core::objects_dir(s.store))) {
    objects += e.is_regular_file() ? 1 : 0;
  }
  CHECK(objects == 2); // "one" and "two" (each version's single file)
  {
    const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5));
    (void)core::delete_version(s.store, core::resolve_version(s.store, core::VersionRef::parse(v1)), false,
                               core::BackupFirst::yes);
    CHECK(core::prune_unreferenced_objects(s.store) == 1);
  }
  objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(core::objects_dir(s.store))) {
    objects += e.is_regular_file() ? 1 : 0;
  }
  CHECK(objects == 1);
  CHECK(core::verify_version(core::resolve_version(s.store, core::VersionRef::parse(v2)), false).ok());
}

TEST_CASE("restore gives the user private, writable copies of linked files")
{
  test::ScratchStore s;
  (void)s.add_version("content");
  const auto version = core::resolve_version(s.store, core::VersionRef::parse("1"));
  const auto meta = core::load_metadata(version.path);
  const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5));
  (void)core::restore_version(s.store, version, meta, s.dir / "restored", false);
  const fs::path restored = s.dir / "restored" / "adapter_model.safetensors";
  CHECK_FALSE(fs::equivalent(restored, version.path / "adapter" / "adapter_model.safetensors"));
  struct stat st {};
  REQUIRE(::stat(restored.c_str(), &st) == 0);
  CHECK((st.st_mode & 0200) != 0);
}
