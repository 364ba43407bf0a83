#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace modelkeep;
namespace fs = std::filesystem;

TEST_CASE("version ids and directory names")
{
  CHECK(core::version_id(1) == "v001");
  CHECK(core::version_id(42) == "v042");
  CHECK(core::version_id(1234) == "v1234");
  const auto time = util::from_unix_seconds(1763303400);
  CHECK(core::version_dir_name(1, time, "Initial training") == "v001_20251116_143000_initial_training");
}

TEST_CASE("parse_version_dir_name accepts only complete version names")
{
  CHECK(core::parse_version_dir_name("v001_20251116_143000_initial_training") == 1);
  CHECK(core::parse_version_dir_name("v1234_20251116_143000_x") == 1234);
  CHECK_FALSE(core::parse_version_dir_name("latest").has_value());
  CHECK_FALSE(core::parse_version_dir_name("v01_20251116_143000_x").has_value());
  CHECK_FALSE(core::parse_version_dir_name("v001_20251116_143000_").has_value());
  CHECK_FALSE(core::parse_version_dir_name("v001_2025111_143000_x").has_value());
  CHECK_FALSE(core::parse_version_dir_name(".v001_20251116_143000_x.tmp-1-0").has_value());
  CHECK_FALSE(core::parse_version_dir_name("v001_20251116_143000_Bad").has_value());
}

TEST_CASE("VersionRef parses every accepted spelling")
{
  using Kind = core::VersionRef::Kind;
  for (const char* text : {"3", "v3", "v003", "V3"}) {
    const auto ref = core::VersionRef::parse(text);
    CHECK(ref.kind == Kind::number);
    CHECK(ref.number == 3);
  }
  CHECK(core::VersionRef::parse("latest").kind == Kind::latest);
  const auto named = core::VersionRef::parse("v002_20251117_150000_math_focus");
  CHECK(named.kind == Kind::name);
  CHECK(named.name == "v002_20251117_150000_math_focus");
  CHECK(core::VersionRef::parse("production").kind == Kind::stage);
  for (const char* bad : {"", "v", "0", "v0", "-1", "Three", "v3x", "../v001"}) {
    CHECK_THROWS_AS((void)core::VersionRef::parse(bad), Error);
  }
  try {
    (void)core::VersionRef::parse("../v001");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::usage);
  }
}

namespace {

core::VersionMetadata sample()
{
  core::VersionMetadata meta;
  meta.number = 2;
  meta.id = "v002";
  meta.name = "v002_20251117_150000_math_focus";
  meta.created_at = "2025-11-17T15:00:00Z";
  meta.description = "Math focus";
  meta.source = "/train/current_model";
  meta.training_data = {{"/train/math.jsonl", 10, util::sha256_hex("0123456789")}};
  meta.steps = 1250;
  meta.final_loss = 0.42;
  meta.metrics = {{"f1_score", 0.91}};
  meta.base_model = "org/base";
  meta.parent_version = "v001_20251116_143000_initial";
  meta.evolution_snapshot_count = 3;
  meta.manifest = core::Manifest({{"adapter/adapter_model.safetensors", 5, 0644, util::sha256_hex("hello")}});
  meta.host = "h";
  meta.user = "u";
  meta.tool_version = "0.1.0";
  return meta;
}

} // namespace

TEST_CASE("metadata JSON round trip")
{
  const auto meta = sample();
  const auto doc = meta.to_json();
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["file_count"] == 1);
  CHECK(doc["total_size"] == 5);
  const auto back = core::VersionMetadata::from_json(doc, "m");
  CHECK(back.to_json() == doc);
  CHECK(back.steps == 1250);
  CHECK(back.metrics.at("f1_score") == doctest::Approx(0.91));
}

TEST_CASE("metadata with garbage or inconsistent fields is malformed")
{
  auto doc = sample().to_json();
  const auto expect_malformed = [](const nlohmann::json& bad) {
    try {
      (void)core::VersionMetadata::from_json(bad, "metadata.json");
      FAIL("expected malformed");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::malformed);
    }
  };
  expect_malformed(nlohmann::json::array());
  auto wrong_type = doc;
  wrong_type["steps"] = "many";
  expect_malformed(wrong_type);
  auto missing = doc;
  missing.erase("files");
  expect_malformed(missing);
  auto lying = doc;
  lying["total_size"] = 999;
  expect_malformed(lying);
  auto future = doc;
  future["schema_version"] = 99;
  expect_malformed(future);
  auto renamed = doc;
  renamed["id"] = "v003";
  expect_malformed(renamed);
}

TEST_CASE("load_metadata reports parse errors with the file path")
{
  test::ScratchDir dir;
  test::write_text(dir / "v" / "metadata.json", "{ this is not json");
  CHECK_THROWS_WITH_AS(
      (void)core::load_metadata(dir / "v"),
      doctest::Contains(("malformed metadata " + (dir / "v" / "metadata.json").string()).c_str()), Error);
  CHECK_THROWS_WITH_AS((void)core::load_metadata(dir / "w"), doctest::Contains("missing metadata"), Error);
}

TEST_CASE("listing, resolving and latest")
{
  test::ScratchDir dir;
  const core::Store store(dir.path());
  store.ensure_layout();
  fs::create_directories(store.versions_dir() / "v001_20251116_143000_a");
  fs::create_directories(store.versions_dir() / "v003_20251117_143000_c");
  fs::create_directories(store.versions_dir() / ".v004_20251118_143000_d.tmp-1-0");
  fs::create_directories(store.versions_dir() / "notes");
  const auto versions = core::list_versions(store);
  REQUIRE(versions.size() == 2);
  CHECK(versions[1].number == 3);
  CHECK(core::resolve_version(store, core::VersionRef::parse("latest")).number == 3);
  CHECK(core::resolve_version(store, core::VersionRef::parse("v1")).name == "v001_20251116_143000_a");
  CHECK_THROWS_AS((void)core::resolve_version(store, core::VersionRef::parse("2")), Error);

  CHECK_FALSE(core::read_latest_link(store).has_value());
  core::repair_latest(store);
  CHECK(core::read_latest_link(store) == "v003_20251117_143000_c");
  fs::remove(store.versions_dir() / "v003_20251117_143000_c");
  core::repair_latest(store);
  CHECK(core::read_latest_link(store) == "v001_20251116_143000_a");
}

TEST_CASE("metadata nested 10,000 deep or of the wrong types is malformed, not a crash")
{
  const fs::path corpus = fs::path(MODELKEEP_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "metadata";
  test::ScratchDir dir;
  for (const char* name : {"deep", "wrong-types", "path-escape"}) {
    CAPTURE(name);
    fs::copy_file(corpus / name, dir / "metadata.json", fs::copy_options::overwrite_existing);
    try {
      (void)core::load_metadata(dir.path());
      FAIL("accepted " << name);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::malformed);
    }
  }
}
