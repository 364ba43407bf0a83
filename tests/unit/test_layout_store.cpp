#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/versions/recovery.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <cstdlib>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST_CASE("the root comes from --root, then $MODELKEEP_ROOT, then discovery, then ./models")
{
  ::unsetenv("MODELKEEP_ROOT");
  test::ScratchDir dir;
  const fs::path saved = fs::current_path();
  fs::current_path(dir.path());
  const bool none_above = !core::Store::discover(dir.path());
  const auto fallback = core::Store::choose_root(std::nullopt);
  fs::current_path(saved);
  if (none_above) {
    CHECK(fallback == "models");
  }
  ::setenv("MODELKEEP_ROOT", "/env/root", 1);
  CHECK(core::Store::choose_root(std::nullopt) == "/env/root");
  CHECK(core::Store::choose_root(std::string("/cli")) == "/cli");
  ::unsetenv("MODELKEEP_ROOT");
}

TEST_CASE("a store is found from a directory upward, as git finds .git")
{
  test::ScratchDir dir;
  const fs::path root = dir / "train" / "models";
  fs::create_directories(root / "versions" / "v001_x" / "adapter");
  fs::create_directories(dir / "train" / "data" / "deeper");
  fs::create_directories(root / "team" / "a" / "versions" / "v001_y");
  // From a training directory: its models/ subdirectory.
  auto found = core::Store::discover(dir / "train" / "data" / "deeper");
  REQUIRE(found);
  CHECK(found->root == root);
  CHECK_FALSE(found->model);
  // From inside the store: the store.
  found = core::Store::discover(root / "versions" / "v001_x" / "adapter");
  REQUIRE(found);
  CHECK(found->root == root);
  CHECK_FALSE(found->model);
  // From inside a named model: its root and its name.
  found = core::Store::discover(root / "team" / "a" / "versions" / "v001_y");
  REQUIRE(found);
  CHECK(found->root == root);
  CHECK(found->model == std::optional<std::string>("team/a"));
  // A root holding only named models is marked by its .modelkeep/.
  const fs::path other = dir / "other";
  fs::create_directories(other / ".modelkeep");
  fs::create_directories(other / "m" / "versions");
  found = core::Store::discover(other / "m");
  REQUIRE(found);
  CHECK(found->root == other);
  CHECK(found->model == std::optional<std::string>("m"));
}

TEST_CASE("locate: --root and $MODELKEEP_ROOT win over discovery, and --model over the discovered model")
{
  ::unsetenv("MODELKEEP_ROOT");
  ::unsetenv("MODELKEEP_MODEL");
  test::ScratchDir dir;
  const fs::path root = fs::canonical(dir.path()) / "models";
  fs::create_directories(root / "team" / "versions");
  fs::create_directories(root / ".modelkeep");
  const fs::path saved = fs::current_path();
  fs::current_path(root / "team" / "versions");
  const auto here = core::Store::locate(std::nullopt, std::nullopt);
  const auto named = core::Store::locate(std::nullopt, std::string("other"));
  const auto cli = core::Store::locate(std::string("/cli"), std::nullopt);
  ::setenv("MODELKEEP_ROOT", "/env/root", 1);
  const auto env = core::Store::locate(std::nullopt, std::nullopt);
  ::unsetenv("MODELKEEP_ROOT");
  fs::current_path(saved);
  CHECK(here.root() == root);
  CHECK(here.model() == "team");
  CHECK(named.root() == root);
  CHECK(named.model() == "other");
  CHECK(cli.root() == "/cli");
  CHECK(cli.model() == "default");
  CHECK(env.root() == "/env/root");
  CHECK(env.model() == "default");
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
  const auto lock = core::lock_for_writing(store, "test", milliseconds(0));
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
  const auto first = store.acquire_lock("model-versioner create", milliseconds(0));
  try {
    (void)store.acquire_lock("model-versioner delete", milliseconds(50));
    FAIL("expected the store to be locked");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::locked);
    CHECK(std::string(error.what()).find("(model-versioner create)") != std::string::npos);
  }
}

TEST_CASE("model names: segments of [a-z0-9][a-z0-9_.-]* joined by '/', nothing that leaves the root")
{
  for (const std::string& good :
       std::vector<std::string>{"creamy_chicken", "pattern_classifier/trending/btcusdt", "a", "v1.2-rc_3",
                                "0", std::string(128, 'a')}) {
    CAPTURE(good);
    CHECK_NOTHROW(core::validate_model_name(good));
  }
  for (const std::string& bad : std::vector<std::string>{"",
                                                         "../x",
                                                         "A",
                                                         "a//b",
                                                         "/a",
                                                         "a/",
                                                         ".a",
                                                         "a/..",
                                                         "_a",
                                                         "-a",
                                                         "a b",
                                                         "a\\b",
                                                         "versions",
                                                         "x/backups",
                                                         "consolidated_models",
                                                         "hooks",
                                                         "registry.json",
                                                         std::string(129, 'a'),
                                                         std::string(300, 'b'),
                                                         std::string("a\0b", 3)}) {
    CAPTURE(bad);
    try {
      core::validate_model_name(bad);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
    }
  }
}

TEST_CASE("a named model lives in root/NAME with its own state, default is the root itself")
{
  test::ScratchDir dir;
  const core::Store named(dir / "models", "team/chat");
  CHECK(named.model() == "team/chat");
  CHECK(named.dir() == dir / "models" / "team" / "chat");
  CHECK(named.versions_dir() == dir / "models" / "team" / "chat" / "versions");
  CHECK(named.state_dir() == dir / "models" / "team" / "chat" / ".modelkeep");
  CHECK(named.root_state_dir() == dir / "models" / ".modelkeep");
  for (const std::string name : {"", "default"}) {
    const core::Store store(dir / "models", name);
    CHECK(store.is_default_model());
    CHECK(store.dir() == dir / "models");
  }
  // Locks are per model: holding one does not block another.
  named.ensure_layout();
  const core::Store other(dir / "models", "team/other");
  const auto first = named.acquire_lock("a", milliseconds(0));
  CHECK_NOTHROW((void)other.acquire_lock("b", milliseconds(0)));
}

TEST_CASE("the model comes from --model, then $MODELKEEP_MODEL, then the default")
{
  ::unsetenv("MODELKEEP_MODEL");
  CHECK(core::Store::choose_model(std::nullopt) == "default");
  ::setenv("MODELKEEP_MODEL", "env_model", 1);
  CHECK(core::Store::choose_model(std::nullopt) == "env_model");
  CHECK(core::Store::choose_model(std::string("cli")) == "cli");
  ::unsetenv("MODELKEEP_MODEL");
}

TEST_CASE("discover_models finds default and nested models, skipping layouts, links and bad names")
{
  test::ScratchDir dir;
  const fs::path root = dir / "models";
  for (const std::string model :
       {"b", "a/x", "a/y/z", "default_like"}) { // NOLINT(performance-for-range-copy)
    core::Store(root, model).ensure_layout();
  }
  CHECK(core::discover_models(root) == std::vector<std::string>{"a/x", "a/y/z", "b", "default_like"});
  core::Store(root).ensure_layout();
  fs::create_directories(root / "Upper" / "versions");
  fs::create_directories(root / "b" / "backups" / "c" / "versions");
  fs::create_directories(dir / "elsewhere" / "versions");
  fs::create_directory_symlink(dir / "elsewhere", root / "linked");
  CHECK(core::discover_models(root) ==
        std::vector<std::string>{"default", "a/x", "a/y/z", "b", "default_like"});
  CHECK(core::discover_models(dir / "nowhere").empty());
  // A symbolic link on the way to a model is refused when the model is opened.
  CHECK_THROWS_AS(core::Store(root, "linked"), Error);
}

TEST_CASE("a named model's settings override the root's key by key")
{
  test::ScratchDir dir;
  const core::Store named(dir / "models", "m");
  named.ensure_layout();
  test::write_text(named.root_state_dir() / "config.json",
                   R"({"link": "copy", "auto_promote": {"metric": "acc"}})");
  test::write_text(named.state_dir() / "config.json", R"({"link": "hardlink"})");
  const auto config = named.config();
  CHECK(config["link"] == "hardlink");
  CHECK(config["auto_promote"]["metric"] == "acc");
  CHECK(core::Store(dir / "models").config()["link"] == "copy");
  test::write_text(named.state_dir() / "config.json", "[1]");
  CHECK_THROWS_AS((void)named.config(), Error);
}
