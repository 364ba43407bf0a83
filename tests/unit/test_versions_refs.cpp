#include "core/versions/refs.hpp"

#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
#include "core/versions/recovery.hpp"
#include "test_support.hpp"
#include "util/file.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

namespace {

/// The promote events of the store's log.
std::vector<nlohmann::json> promotions(const core::Store& store)
{
  std::vector<nlohmann::json> found;
  for (const auto& event : core::read_events(store)) {
    if (core::is_event(event, core::EventKind::promote)) {
      found.push_back(event);
    }
  }
  return found;
}

std::filesystem::path journal(const core::Store& store)
{
  return store.state_dir() / "stage-move.json";
}

} // namespace

TEST_CASE("a stage move cut after its link moved is logged by the next writer, once, marked recovered")
{
  test::ScratchStore s;
  const std::string v1 = s.add_version("one");
  const nlohmann::json fields = {{"stage", "production"}, {"from", nullptr}, {"to", v1}, {"reason", "r"}};
  const std::string id = core::begin_stage_move(s.store, core::EventKind::promote, fields);
  util::replace_symlink(s.store.versions_dir() / "production", v1); // the run stops here
  { const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5)); }
  { const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5)); }
  const auto logged = promotions(s.store);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0]["to"] == v1);
  CHECK(logged[0]["move"] == id);
  CHECK(logged[0]["recovered"] == true);
  CHECK(!util::exists(journal(s.store)));
}

TEST_CASE("a stage move cut before its link moved, or after its event, leaves no event behind it")
{
  test::ScratchStore s;
  const std::string v1 = s.add_version("one");
  const nlohmann::json fields = {{"stage", "production"}, {"from", nullptr}, {"to", v1}, {"reason", "r"}};
  (void)core::begin_stage_move(s.store, core::EventKind::promote, fields); // the link never moved
  { const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5)); }
  CHECK(promotions(s.store).empty());
  CHECK(!util::exists(journal(s.store)));

  s.promote(v1); // a whole move, then a journal of it left behind as if its removal were lost
  (void)core::begin_stage_move(s.store, core::EventKind::promote, fields);
  nlohmann::json last = promotions(s.store).back();
  auto written = nlohmann::json::parse(util::read_file(journal(s.store)));
  written["move"] = last["move"];
  util::write_file_atomic(journal(s.store), written.dump());
  { const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5)); }
  CHECK(promotions(s.store).size() == 1);
  CHECK(!util::exists(journal(s.store)));
}

TEST_CASE("a torn or foreign stage-move journal is removed without an event")
{
  for (const std::string text : {"{\"stage\": \"produc", "[]", "{\"event\": \"nonsense\", \"stage\": 3}"}) {
    CAPTURE(text);
    test::ScratchStore s;
    (void)s.add_version("one");
    util::write_file_atomic(journal(s.store), text);
    { const auto lock = core::lock_for_writing(s.store, "test", std::chrono::seconds(5)); }
    CHECK(promotions(s.store).empty());
    CHECK(!util::exists(journal(s.store)));
  }
}
