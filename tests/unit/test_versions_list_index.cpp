#include "core/versions/list_index.hpp"

#include "core/versions/version.hpp"
#include "test_support.hpp"
#include "util/file.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace modelkeep;
using nlohmann::json;

namespace {

/// A store of two versions with a fresh index.json (every create refreshes it).
struct IndexedStore {
  test::ScratchStore s;
  std::string first;
  std::string second;
  IndexedStore() : first(s.add_version("one")), second(s.add_version("two")) {}

  [[nodiscard]] json index() const
  {
    return json::parse(util::read_file(s.store.versions_dir() / "index.json"));
  }
  void write(const json& index) const
  {
    util::write_file_atomic(s.store.versions_dir() / "index.json", index.dump());
  }
  /// The description list_summaries gives the version `name`.
  [[nodiscard]] std::string listed(const std::string& name) const
  {
    for (const auto& item : core::list_summaries(s.store)) {
      if (item.version.name == name) {
        return item.summary ? item.summary->description : "error: " + item.error;
      }
    }
    return "absent";
  }
};

} // namespace

TEST_CASE("list takes each version's summary from its fresh index entry, field by field")
{
  IndexedStore x;
  json index = x.index();
  index["versions"][x.first]["summary"]["description"] = "from the index";
  index["versions"][x.first]["summary"]["metrics"] = {{"f1", 0.5}, {"loss", 2}};
  index["versions"][x.first]["summary"]["tags"] = {{"team", "a"}};
  index["versions"][x.first]["summary"]["future_field"] = {{"nested", {1, 2, 3}}};
  index["versions"][x.first]["future_key"] = json::array({json::object()});
  index["future_top"] = {{"versions", 5}};
  x.write(index);
  CHECK(x.listed(x.first) == "from the index");
  CHECK(x.listed(x.second) == "two");
  for (const auto& item : core::list_summaries(x.s.store)) {
    if (item.version.name == x.first) {
      CHECK(item.summary->metrics.at("loss") == 2.0);
      CHECK(item.summary->tags.at("team") == "a");
    }
  }
}

TEST_CASE("an index entry with a field of the wrong type or a missing field is not used: the metadata is read")
{
  const std::vector<std::pair<std::string, json>> bad_fields = {
      {"file_count", "3"},        {"file_count", -1},          {"description", 5},
      {"metrics", {{"f1", "x"}}}, {"metrics", json::array()},  {"tags", {{"team", 1}}},
      {"steps", "many"},          {"final_loss", "low"},       {"parent_version", 3},
      {"created_at", {{"a", 1}}}, {"description", nullptr},    {"status", json::array()},
  };
  for (const auto& [field, value] : bad_fields) {
    CAPTURE(field);
    CAPTURE(value.dump());
    IndexedStore x;
    json index = x.index();
    index["versions"][x.first]["summary"][field] = value;
    index["versions"][x.first]["summary"]["description"] =
        field == "description" ? value : json("from the index");
    x.write(index);
    CHECK(x.listed(x.first) == "one");
  }
  IndexedStore x;
  json index = x.index();
  index["versions"][x.first]["summary"].erase("parent_version"); // an entry of an older release
  index["versions"][x.first]["summary"]["description"] = "from the index";
  index["versions"][x.second]["stamp"] = 7;
  x.write(index);
  CHECK(x.listed(x.first) == "one");
  CHECK(x.listed(x.second) == "two");
}

TEST_CASE("an index of another schema, a broken one or entries that are not objects are not used")
{
  for (const std::string& text : {std::string(R"({"schema_version": 2, "versions": {}})"), std::string("{broken"),
                                  std::string("[]"), std::string(R"({"schema_version": 1, "versions": []})")}) {
    CAPTURE(text);
    IndexedStore x;
    util::write_file_atomic(x.s.store.versions_dir() / "index.json", text);
    CHECK(x.listed(x.first) == "one");
    CHECK(x.listed(x.second) == "two");
  }
  IndexedStore x;
  json index = x.index();
  index["versions"][x.first] = json::array({"stamp", "summary"});
  x.write(index);
  CHECK(x.listed(x.first) == "one");
}
