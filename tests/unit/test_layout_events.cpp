#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
#include "test_support.hpp"
#include "util/text.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace modelkeep;

TEST_CASE("events are appended one JSON object per line with who and when")
{
  test::ScratchDir dir;
  const core::Store store(dir.path());
  store.ensure_layout();
  core::append_event(store, core::EventKind::create, {{"version", "v001_x"}});
  core::append_event(store, core::EventKind::delete_version, {{"version", "v001_x"}});
  const auto lines = util::split(test::read_text(store.events_path()), '\n');
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].empty());
  const auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["event"] == "create");
  CHECK(first.contains("time"));
  CHECK(first.contains("user"));
  CHECK(first.contains("pid"));
  CHECK(nlohmann::json::parse(lines[1])["event"] == "delete");
}

TEST_CASE("an event after a torn line starts on a line of its own")
{
  test::ScratchDir dir;
  const core::Store store(dir.path());
  store.ensure_layout();
  test::write_text(store.events_path(), "{\"event\":\"create\",\"ver");
  core::append_event(store, core::EventKind::restore);
  const auto lines = util::split(test::read_text(store.events_path()), '\n');
  REQUIRE(lines.size() == 3);
  CHECK(nlohmann::json::parse(lines[1])["event"] == "restore");
}
