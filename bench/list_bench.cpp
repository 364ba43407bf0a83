// make bench: `model-versioner list` of 10,000 synthetic versions, read from every
// metadata.json and from a fresh versions/index.json index.
#include "core/layout/store.hpp"
#include "core/versions/version.hpp"
#include "rows.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

double run_seconds(const std::vector<std::string>& argv)
{
  return bench::run_process(argv, true).seconds;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 4) {
    std::fprintf(stderr, "usage: list_bench MODEL_VERSIONER WORK_DIR RESULTS_JSON\n");
    return 2;
  }
  const std::string tool = argv[1];
  const fs::path work = argv[2];
  const fs::path results = argv[3];
  constexpr int k_versions = 10000;
  fs::remove_all(work);
  const core::Store store(work / "models");
  store.ensure_layout();
  std::printf("writing %d synthetic versions ...\n", k_versions);
  for (int n = 1; n <= k_versions; ++n) {
    core::VersionMetadata meta;
    meta.number = static_cast<std::uint64_t>(n);
    meta.id = core::version_id(meta.number);
    meta.name = meta.id + "_20251116_143000_run_" + std::to_string(n);
    meta.created_at = "2025-11-16T14:30:00Z";
    meta.description = "run " + std::to_string(n);
    meta.metrics = {{"f1_score", 0.5 + n * 1e-5}};
    meta.manifest = core::Manifest(
        {{"adapter/adapter_model.safetensors", 1024, 0644, util::sha256_hex(std::to_string(n))}});
    fs::create_directory(store.versions_dir() / meta.name);
    std::ofstream(store.versions_dir() / meta.name / "metadata.json") << meta.to_json().dump(2) << '\n';
  }
  const std::vector<std::string> list = {tool, "--root", store.root().string(), "list"};
  // Without the index: every metadata.json parsed; then with a fresh index.json.
  fs::remove(store.versions_dir() / "index.json");
  const double cold = bench::median_run(list, 5).seconds;
  run_seconds({tool, "--root", store.root().string(), "reindex"});
  const double indexed = bench::median_run(list, 5).seconds;
  std::vector<bench::Row> rows;
  rows.push_back({"model-versioner list, 10,000 versions", "", indexed, 0, std::nullopt, 0.15, std::nullopt,
                  std::nullopt, 5});
  rows.push_back({"  same, without the index (every metadata.json)", "", cold, 0, std::nullopt, std::nullopt,
                  std::nullopt, std::nullopt, 5});
  bench::write_rows(results, rows, {{"versions", k_versions}});
  if (std::getenv("MODELKEEP_BENCH_KEEP") == nullptr) {
    fs::remove_all(work);
  }
  return 0;
}
