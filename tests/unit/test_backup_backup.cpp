#include "core/backup/backup.hpp"

#include "core/layout/store.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace modelkeep;
namespace fs = std::filesystem;

TEST_CASE("a verified backup holds the files, a manifest and a verification record")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  test::write_text(dir / "src" / "adapter_model.safetensors", "weights");
  test::write_text(dir / "src" / "sub" / "config.json", "{}");
  const auto record = core::create_verified_backup(
      store,
      {dir / "src", "emergency", "Current Model", "before a risky change", {"adapter_model.safetensors"}},
      false);
  CHECK(record.path.parent_path() == store.backups_dir() / "emergency");
  CHECK(record.path.filename().string().rfind("current_model_", 0) == 0);
  CHECK(test::read_text(record.path / "data" / "sub" / "config.json") == "{}");
  const auto doc = nlohmann::json::parse(test::read_text(record.path / "backup.json"));
  CHECK(doc["type"] == "emergency");
  CHECK(doc["file_count"] == 2);
  CHECK(doc["total_size"] == 9);
  CHECK(doc["reason"] == "before a risky change");
  CHECK(doc["verification"]["result"] == "verified");
  CHECK(doc["manifest_digest"] == record.manifest.digest());
  CHECK(core::check_tree(record.path / "data", record.manifest, nullptr).ok());
}

TEST_CASE("two backups in the same second get distinct names")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  test::write_text(dir / "src" / "f", "x");
  const auto a = core::create_verified_backup(store, {dir / "src", "emergency", "src", "", {}}, false);
  const auto b = core::create_verified_backup(store, {dir / "src", "emergency", "src", "", {}}, false);
  CHECK(a.path != b.path);
}

TEST_CASE("a missing critical file fails the backup and leaves nothing behind")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  test::write_text(dir / "src" / "f", "x");
  CHECK_THROWS_WITH_AS(
      (void)core::create_verified_backup(
          store, {dir / "src", "emergency", "src", "", {"adapter_model.safetensors"}}, false),
      doctest::Contains("critical file missing"), Error);
  CHECK((!fs::exists(store.backups_dir() / "emergency") || fs::is_empty(store.backups_dir() / "emergency")));
  CHECK(test::read_text(dir / "src" / "f") == "x");
}

TEST_CASE("bad backup types and missing sources are refused")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  test::write_text(dir / "src" / "f", "x");
  CHECK_THROWS_AS((void)core::create_verified_backup(store, {dir / "src", "../evil", "src", "", {}}, false),
                  Error);
  CHECK_THROWS_AS(
      (void)core::create_verified_backup(store, {dir / "nope", "emergency", "src", "", {}}, false), Error);
}
