#include "core/versions/catalog.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/recovery.hpp"
#include "modelkeep/registry.hpp"
#include "test_support.hpp"
#include "util/file.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json entry_of(const json& entries, const std::string& model)
{
  for (const auto& entry : entries) {
    if (entry["model"] == model) {
      return entry;
    }
  }
  return nullptr;
}

} // namespace

TEST_CASE("a catalog entry names the active version (production, else latest) and its headline metric")
{
  test::ScratchStore s("alpha");
  const auto v1 = s.add_version("one");
  const auto v2 = s.add_version("two");
  json entry = core::catalog_entry(s.store, core::build_index(s.store));
  CHECK(entry["model"] == "alpha");
  CHECK(entry["path"] == "alpha");
  CHECK(entry["version_count"] == 2);
  CHECK(entry["total_size"] == 6);
  CHECK(entry["latest"] == v2);
  CHECK(entry["active"]["stage"] == "latest");
  CHECK(entry["active"]["version"] == v2);
  CHECK(entry["active"]["path"] == "alpha/versions/" + v2 + "/adapter");
  CHECK(entry["metric"]["name"] == "f1_score");
  CHECK(entry["metric"]["value"].is_null());
  s.promote(v1);
  entry = core::catalog_entry(s.store, core::build_index(s.store));
  CHECK(entry["active"]["stage"] == "production");
  CHECK(entry["active"]["version"] == v1);
  CHECK(entry["stages"]["production"] == v1);
  CHECK(entry["last_created"].is_string());
}

TEST_CASE("every index refresh keeps the root's catalog.json fresh, a damaged one is rebuilt whole")
{
  test::ScratchStore alpha("alpha");
  const core::Store beta(alpha.dir / "models", "beta");
  beta.ensure_layout();
  (void)alpha.add_version("a1");
  const fs::path file = alpha.store.root() / "catalog.json";
  json doc = core::read_catalog_file(alpha.store.root());
  REQUIRE(doc.is_object());
  CHECK(doc["models"]["alpha"]["version_count"] == 1);
  // The first write found no file and built it whole: beta (laid out, no versions) is in it.
  CHECK(doc["models"]["beta"]["version_count"] == 0);
  CHECK(doc["models"].size() == 2);

  // Damage it: the next refresh of any model rebuilds every entry from the metadata.
  test::write_text(file, "{not json");
  CHECK(core::read_catalog_file(alpha.store.root()).is_null());
  {
    const auto lock = core::lock_for_writing(beta, "test", std::chrono::seconds(5));
    core::refresh_indexes(beta);
  }
  doc = core::read_catalog_file(alpha.store.root());
  REQUIRE(doc.is_object());
  CHECK(doc["models"]["alpha"]["version_count"] == 1);
  CHECK(doc["models"]["beta"]["latest"].is_null());

  // A model that disappeared drops out at the next update.
  util::remove_all(alpha.store.dir());
  {
    const auto lock = core::lock_for_writing(beta, "test", std::chrono::seconds(5));
    core::refresh_indexes(beta);
  }
  doc = core::read_catalog_file(beta.root());
  CHECK_FALSE(doc["models"].contains("alpha"));
}

TEST_CASE("build_catalog reads the metadata, not catalog.json")
{
  test::ScratchStore s("m");
  (void)s.add_version("x");
  test::write_text(s.store.root() / "catalog.json",
                   R"({"schema_version": 1, "models": {"m": {"version_count": 42}, "ghost": {}}})");
  const json entries = core::build_catalog(s.store.root());
  REQUIRE(entries.size() == 1);
  CHECK(entry_of(entries, "m")["version_count"] == 1);
  const json rebuilt = core::rebuild_catalog(s.store.root(), std::chrono::seconds(5));
  CHECK(rebuilt == entries);
  CHECK_FALSE(core::read_catalog_file(s.store.root())["models"].contains("ghost"));
}

TEST_CASE("the library opens a named model")
{
  test::ScratchStore s("serving/prod");
  const auto v1 = s.add_version("one");
  s.promote(v1);
  const Registry registry(s.store.root(), "serving/prod");
  CHECK(registry.model() == "serving/prod");
  CHECK(registry.resolve_stage().adapter == s.store.versions_dir() / v1 / "adapter");
  CHECK_THROWS_AS(Registry(s.store.root()), Error);              // no default model there
  CHECK_THROWS_AS(Registry(s.store.root(), "../escape"), Error); // bad name
}
