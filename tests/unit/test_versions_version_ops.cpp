#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

struct Fixture : test::ScratchStore {

  Fixture()
  {
    test::write_text(dir / "adapter" / "adapter_config.json", R"({"base_model_name_or_path": "org/base"})");
    test::write_text(dir / "adapter" / "adapter_model.safetensors", "weights v1");
  }

  core::VersionMetadata create(const std::string& description, bool allow_duplicate = false)
  {
    core::CreateRequest request;
    request.adapter = dir / "adapter";
    request.description = description;
    request.allow_duplicate = allow_duplicate;
    return core::create_version(store, request, "test", false);
  }
};

} // namespace

TEST_CASE("create snapshots the adapter, records metadata and moves latest")
{
  Fixture f;
  const auto v1 = f.create("Initial training");
  CHECK(v1.id == "v001");
  CHECK(v1.base_model == "org/base");
  CHECK(v1.parent_version.empty());
  const fs::path path = f.store.versions_dir() / v1.name;
  CHECK(test::read_text(path / "adapter" / "adapter_model.safetensors") == "weights v1");
  CHECK(core::load_metadata(path).to_json() == v1.to_json());
  CHECK(core::read_latest_link(f.store) == v1.name);

  test::write_text(f.dir / "adapter" / "adapter_model.safetensors", "weights v2");
  const auto v2 = f.create("More");
  CHECK(v2.number == 2);
  CHECK(v2.parent_version == v1.name);
  CHECK(core::read_latest_link(f.store) == v2.name);
}

TEST_CASE("identical content is refused unless allowed")
{
  Fixture f;
  const auto v1 = f.create("one");
  try {
    (void)f.create("two");
    FAIL("expected refusal");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::refused);
    CHECK(std::string(error.what()).find(v1.name) != std::string::npos);
  }
  CHECK(core::list_versions(f.store).size() == 1);
  CHECK(f.create("two", true).number == 2);
}

TEST_CASE("numbers are never reused after a delete")
{
  Fixture f;
  (void)f.create("one");
  test::write_text(f.dir / "adapter" / "adapter_model.safetensors", "weights v2");
  const auto v2 = f.create("two");
  const auto deleted =
      core::delete_version(f.store, core::resolve_version(f.store, core::VersionRef::parse("2")), false);
  CHECK(fs::exists(deleted.backup.path / "data" / "metadata.json"));
  CHECK(deleted.backup.path.parent_path().filename() == "deleted_versions");
  CHECK(core::read_latest_link(f.store) == core::list_versions(f.store).front().name);
  test::write_text(f.dir / "adapter" / "adapter_model.safetensors", "weights v3");
  CHECK(f.create("three").number == 3);
  CHECK(v2.number == 2);
}

TEST_CASE("deleting the only version removes latest")
{
  Fixture f;
  (void)f.create("one");
  (void)core::delete_version(f.store, core::resolve_version(f.store, core::VersionRef::parse("latest")),
                             false);
  CHECK(core::list_versions(f.store).empty());
  CHECK_FALSE(fs::exists(fs::symlink_status(f.store.versions_dir() / "latest")));
}

TEST_CASE("verify_version finds a flipped byte and a broken metadata.json")
{
  Fixture f;
  const auto v1 = f.create("one");
  const auto version = core::resolve_version(f.store, core::VersionRef::parse("1"));
  CHECK(core::verify_version(version, false).ok());
  test::write_text(version.path / "adapter" / "adapter_model.safetensors", "weights v9");
  const auto check = core::verify_version(version, false);
  CHECK_FALSE(check.ok());
  CHECK(check.files.modified == std::vector<std::string>{"adapter/adapter_model.safetensors"});
  test::write_text(version.path / "metadata.json", "garbage");
  CHECK(core::verify_version(version, false).metadata_error.has_value());
}

TEST_CASE("bad create requests change nothing")
{
  Fixture f;
  core::CreateRequest request;
  request.description = "x";
  request.adapter = f.dir / "missing";
  CHECK_THROWS_AS((void)core::create_version(f.store, request, "t", false), Error);
  fs::create_directories(f.dir / "empty");
  request.adapter = f.dir / "empty";
  CHECK_THROWS_AS((void)core::create_version(f.store, request, "t", false), Error);
  request.adapter = f.dir / "adapter";
  request.data_files = {f.dir / "no-such-data.jsonl"};
  CHECK_THROWS_AS((void)core::create_version(f.store, request, "t", false), Error);
  CHECK(core::list_versions(f.store).empty());
  CHECK(fs::is_empty(f.store.versions_dir()));
}
