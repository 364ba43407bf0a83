#include "core/backup/cleanup.hpp"
#include "core/trust/protection.hpp"
#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
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
    test::write_text(dir / "src" / "adapter_config.json", "{}");
    test::write_text(dir / "src" / "adapter_model.safetensors", "weights");
  }

  core::BackupInfo backup(core::BackupFormat format = core::BackupFormat::dir)
  {
    core::BackupRequest request{dir / "src", "emergency", "src", "", {}};
    request.format = format;
    return core::load_backup(core::create_verified_backup(store, request, false).path);
  }
};

} // namespace

TEST_CASE("default critical files and the adapter-without-weights refusal")
{
  test::ScratchDir dir;
  test::write_text(dir / "a" / "adapter_config.json", "{}");
  CHECK_THROWS_AS((void)core::default_critical_files(dir / "a"), Error);
  test::write_text(dir / "a" / "adapter_model.bin", "w");
  CHECK(core::default_critical_files(dir / "a") ==
        std::vector<std::string>{"adapter_config.json", "adapter_model.bin"});
  test::write_text(
      dir / "m" / "model.safetensors.index.json",
      R"({"weight_map": {"x": "s2.safetensors", "y": "s1.safetensors", "z": "s1.safetensors"}})");
  CHECK(core::default_critical_files(dir / "m") ==
        std::vector<std::string>{"model.safetensors.index.json", "s1.safetensors", "s2.safetensors"});
  test::write_text(dir / "m" / "model.safetensors.index.json", "{broken");
  CHECK_THROWS_AS((void)core::default_critical_files(dir / "m"), Error);
}

TEST_CASE("verify_backup reports damage in words and records it")
{
  Fixture f;
  const auto info = f.backup();
  CHECK(core::verify_backup(info, core::Hashing::yes, nullptr).ok());
  test::write_text(info.data_path() / "adapter_model.safetensors", "weighty");
  const auto check = core::verify_backup(info, core::Hashing::yes, nullptr);
  REQUIRE_FALSE(check.ok());
  CHECK(check.problems == std::vector<std::string>{"checksum differs: adapter_model.safetensors"});
  core::record_verification(info, check);
  CHECK(core::load_backup(info.path).verification.failed());
}

TEST_CASE("resolve_backup by path, TYPE/NAME and name")
{
  Fixture f;
  const auto info = f.backup();
  CHECK(core::resolve_backup(f.store, info.path.string()).path == info.path);
  CHECK(core::resolve_backup(f.store, info.id()).path == info.path);
  CHECK(core::resolve_backup(f.store, info.name).path == info.path);
  CHECK_THROWS_AS((void)core::resolve_backup(f.store, "emergency/none"), Error);
}

TEST_CASE("restore_backup from an archive replaces the target after a verified backup of it")
{
  Fixture f;
  const auto info = f.backup(core::BackupFormat::tar_zst);
  test::write_text(f.dir / "target" / "adapter_model.safetensors", "other");
  const auto result = core::restore_backup(f.store, info, f.dir / "target", false);
  REQUIRE(result.backup_path.has_value());
  CHECK(test::read_text(f.dir / "target" / "adapter_model.safetensors") == "weights");
  CHECK(test::read_text(*result.backup_path / "data" / "adapter_model.safetensors") == "other");
}

TEST_CASE("cleanup plans protect what records point to")
{
  Fixture f;
  const auto first = f.backup();
  const auto second = f.backup();
  core::append_event(f.store, core::EventKind::delete_version,
                     {{"version", "v001_x"}, {"backup", first.path.string()}});
  core::RetentionPolicy policy;
  policy.keep_last = 0;
  const auto holds = core::backup_holds(f.store, core::list_backups(f.store, std::nullopt));
  const auto plan =
      core::plan_cleanup(f.store, policy, std::nullopt, std::chrono::system_clock::now(), holds);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].decision.keep);
  CHECK(plan[0].decision.reasons.back().find("the copy of deleted version v001_x") != std::string::npos);
  CHECK(plan[1].decision.keep); // the newest verified backup of its source
  CHECK_THROWS_AS(
      (void)core::plan_cleanup(f.store, {}, std::nullopt, std::chrono::system_clock::now(), holds), Error);
}

TEST_CASE("subsets split backups into disjoint slices")
{
  for (const char* id : {"a/1", "b/2", "emergency/x_20250101_000000"}) {
    int hits = 0;
    for (unsigned n = 1; n <= 7; ++n) {
      hits += core::in_subset(id, n, 7) ? 1 : 0;
    }
    CHECK(hits == 1);
    CHECK(core::in_subset(id, 1, 1));
  }
}
