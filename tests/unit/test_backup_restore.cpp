#include "core/backup/restore.hpp"

#include "core/layout/store.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

struct Fixture : test::ScratchStore {
  core::Manifest manifest;

  Fixture()
  {
    test::write_text(dir / "version" / "adapter_model.safetensors", "good weights");
    test::write_text(dir / "version" / "adapter_config.json", "{\"r\": 8}");
    manifest = core::hash_files(core::scan_tree(dir / "version"), nullptr);
  }
};

} // namespace

TEST_CASE("restore into a missing directory creates it")
{
  Fixture f;
  const auto result =
      core::restore_tree(f.store, f.dir / "version", f.manifest, f.dir / "out" / "model", "v001", false);
  CHECK_FALSE(result.already_identical);
  CHECK_FALSE(result.backup_path.has_value());
  CHECK(test::read_text(f.dir / "out" / "model" / "adapter_model.safetensors") == "good weights");
}

TEST_CASE("restore over an identical target changes nothing")
{
  Fixture f;
  fs::copy(f.dir / "version", f.dir / "model", fs::copy_options::recursive);
  const auto result =
      core::restore_tree(f.store, f.dir / "version", f.manifest, f.dir / "model", "v001", false);
  CHECK(result.already_identical);
  CHECK(fs::is_empty(f.store.backups_dir()));
}

TEST_CASE("restore over a modified target keeps the modified content in a verified backup")
{
  Fixture f;
  test::write_text(f.dir / "model" / "adapter_model.safetensors", "newer weights");
  test::write_text(f.dir / "model" / "notes.txt", "my notes");
  const auto result =
      core::restore_tree(f.store, f.dir / "version", f.manifest, f.dir / "model", "v001", false);
  REQUIRE(result.backup_path.has_value());
  CHECK(test::read_text(*result.backup_path / "data" / "adapter_model.safetensors") == "newer weights");
  CHECK(test::read_text(*result.backup_path / "data" / "notes.txt") == "my notes");
  CHECK(test::read_text(f.dir / "model" / "adapter_model.safetensors") == "good weights");
  CHECK_FALSE(fs::exists(f.dir / "model" / "notes.txt"));
  std::size_t siblings = 0;
  for (const auto& entry : fs::directory_iterator(f.dir.path())) {
    siblings += entry.path().filename().string().find(".tmp") != std::string::npos ? 1 : 0;
  }
  CHECK(siblings == 0);
}

TEST_CASE("a damaged source is detected before the target is touched")
{
  Fixture f;
  test::write_text(f.dir / "model" / "adapter_model.safetensors", "mine");
  test::write_text(f.dir / "version" / "adapter_model.safetensors",
                   "rotten bits!"); // same size as "good weights"
  CHECK_THROWS_AS(
      (void)core::restore_tree(f.store, f.dir / "version", f.manifest, f.dir / "model", "v001", false),
      Error);
  CHECK(test::read_text(f.dir / "model" / "adapter_model.safetensors") == "mine");
}

TEST_CASE("restore refuses a target that is a file or inside the store")
{
  Fixture f;
  test::write_text(f.dir / "file", "x");
  CHECK_THROWS_AS(
      (void)core::restore_tree(f.store, f.dir / "version", f.manifest, f.dir / "file", "v001", false), Error);
  CHECK_THROWS_AS((void)core::restore_tree(f.store, f.dir / "version", f.manifest,
                                           f.store.versions_dir() / "x", "v001", false),
                  Error);
  CHECK(test::read_text(f.dir / "file") == "x");
}
