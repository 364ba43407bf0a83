// make bench: recording predictions through the library API (modelkeep/registry.hpp), the way
// a serving process does: monitored predictions and A/B records, from one process and from
// 8 processes at once on one store. Reports records per second and the cost of one record.
#include "core/layout/store.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/ab.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/version_ops.hpp"
#include "modelkeep/registry.hpp"
#include "util/file.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

/// Runs `per_process` calls of `record` in each of `processes` forked children; records/second.
template <typename Record> double throughput(int processes, int per_process, Record record)
{
  const auto start = Clock::now();
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        for (int i = 0; i < per_process; ++i) {
          record(i);
        }
        ::_exit(0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "record_bench: %s\n", e.what());
        ::_exit(1);
      }
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "record_bench: a recording process failed\n");
      std::exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return processes * per_process / seconds;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 3) {
    std::fprintf(stderr, "usage: record_bench WORK_DIR RESULTS_JSON\n");
    return 2;
  }
  const fs::path work = argv[1];
  const fs::path results = argv[2];
  fs::remove_all(work);
  const core::Store store(work / "models");
  store.ensure_layout();
  std::vector<std::string> versions;
  for (const char* content : {"one", "two"}) {
    util::create_directories(work / "adapter");
    std::ofstream(work / "adapter" / "adapter_model.safetensors") << content;
    core::CreateRequest request;
    request.adapter = work / "adapter";
    request.description = content;
    const auto lock = core::lock_for_writing(store, "bench", std::chrono::seconds(5));
    versions.push_back(core::create_version(store, request, "bench", false).name);
  }
  {
    const auto lock = core::lock_for_writing(store, "bench", std::chrono::seconds(5));
    (void)core::move_stage(store, "production",
                           core::resolve_version(store, core::VersionRef::parse(versions[0])), core::EventKind::promote,
                           "bench");
  }
  core::AbTest test;
  test.id = "bench";
  test.control = versions[0];
  test.treatment = versions[1];
  core::create_ab_test(store, test);
  (void)core::start_ab_test(store, "bench");

  const Registry registry(store.root());
  Observation o;
  o.latency_ms = 12.5;
  o.confidence = 0.93;
  o.correct = true;
  constexpr int k_total = 16000;
  const auto monitor = [&](int) { (void)registry.record_prediction(o); };
  const auto ab = [&](int) { registry.record_ab("bench", registry.route("bench").variant, o); };
  struct Row {
    const char* name;
    double per_second;
  };
  const std::vector<Row> rows = {
      {"monitor record, 1 process", throughput(1, k_total, monitor)},
      {"monitor record, 8 processes", throughput(8, k_total / 8, monitor)},
      {"ab route + record, 1 process", throughput(1, k_total, ab)},
      {"ab route + record, 8 processes", throughput(8, k_total / 8, ab)},
  };
  std::printf("\n%-36s %14s %14s\n", "records (window 100)", "records/s", "us/record");
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& row : rows) {
    std::printf("%-36s %14.0f %14.1f\n", row.name, row.per_second, 1e6 / row.per_second);
    doc.push_back({{"work", row.name},
                   {"records_per_second", row.per_second},
                   {"us_per_record", 1e6 / row.per_second}});
  }
  std::filesystem::create_directories(results.parent_path());
  std::ofstream(results) << nlohmann::json{{"records", doc}}.dump(2) << '\n';
  fs::remove_all(work);
  return 0;
}
