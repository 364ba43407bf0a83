#include "core/telemetry/ab.hpp"
#include "core/telemetry/observation.hpp"
#include "modelkeep/registry.hpp"
#include "test_support.hpp"
#include "util/json_file.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

/// Runs `work` in `processes` forked children at once; true if every child exited 0.
template <typename Work> bool in_processes(int processes, Work work)
{
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        work(p);
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    children.push_back(pid);
  }
  bool all_ok = true;
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    all_ok = all_ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return all_ok;
}

} // namespace

TEST_CASE("the library resolves stages and refuses a store that is not there")
{
  test::ScratchStore s;
  const auto v1 = s.add_version("one");
  const Registry registry(s.store.root());
  CHECK_THROWS_AS((void)registry.resolve_stage("production"), Error);
  s.promote(v1);
  const auto target = registry.resolve_stage();
  CHECK(target.version == v1);
  CHECK(target.adapter == s.store.versions_dir() / v1 / "adapter");
  CHECK_THROWS_AS(Registry(s.dir / "nowhere"), Error);
}

TEST_CASE("8 processes x 2,000 monitored predictions give exactly 16,000 parseable records")
{
  test::ScratchStore s;
  const auto v1 = s.add_version("one");
  s.promote(v1);
  const Registry registry(s.store.root());
  const bool ok = in_processes(8, [&](int) {
    Observation o;
    o.latency_ms = 5;
    o.correct = true;
    for (int i = 0; i < 2000; ++i) {
      (void)registry.record_prediction(o);
    }
  });
  CHECK(ok);
  const auto records =
      util::read_json_lines(s.store.versions_dir() / "monitor" / "production" / (v1 + ".jsonl"));
  CHECK(records.size() == 16000);
}

TEST_CASE("8 processes x 2,000 A/B records give exactly 16,000 parseable records")
{
  test::ScratchStore s;
  core::AbTest t;
  t.id = "load";
  t.control = s.add_version("one");
  t.treatment = s.add_version("two");
  core::create_ab_test(s.store, t);
  (void)core::start_ab_test(s.store, "load");
  const Registry registry(s.store.root());
  const bool ok = in_processes(8, [&](int p) {
    Observation o;
    o.latency_ms = p;
    for (int i = 0; i < 2000; ++i) {
      registry.record_ab("load", registry.route("load").variant, o);
    }
  });
  CHECK(ok);
  const auto status = core::ab_status(s.store, "load");
  CHECK(status.control.predictions + status.treatment.predictions == 16000);
}

TEST_CASE("the library runs the model-versioner commands in process and returns their documents")
{
  test::ScratchStore s;
  const auto v1 = s.add_version("one");
  const auto v2 = s.add_version("two");
  const Registry registry(s.store.root());
  const auto list = registry.list();
  REQUIRE(list["versions"].size() == 2);
  CHECK(list["versions"][0]["name"] == v1);
  CHECK_FALSE(list.contains("next_cursor"));
  const auto page = registry.list(1);
  CHECK(page["versions"].size() == 1);
  CHECK(page["next_cursor"] == v1);
  CHECK(registry.list(1, v1)["versions"][0]["name"] == v2);
  CHECK(registry.show("2")["name"] == v2);
  const auto promoted = registry.promote("1", "production", "api");
  CHECK(promoted["changed"] == true);
  CHECK(promoted["to"] == v1);
  CHECK(registry.promote("1")["changed"] == false);
  CHECK(registry.promote("2")["from"] == v1);
  CHECK(registry.rollback()["to"] == v1);
  CHECK(registry.history("production")["events"].size() == 3);
  CHECK(registry.resolve_stage().version == v1);
  CHECK(registry.verify("2")["ok"] == true);
  CHECK(registry.verify("2")["versions"][0]["name"] == v2);
  CHECK(registry.backups()["backups"].empty());
  try {
    (void)registry.show("9");
    FAIL("show of a missing version must throw");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::not_found);
  }
}
