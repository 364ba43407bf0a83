// make bench: `model-versioner list` of 10,000 synthetic versions, read from every
// metadata.json and from a fresh versions/registry.json index.
#include "run_process.hpp"

#include "core/store.hpp"
#include "core/version.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"

#include <chrono>
#include <cstdio>
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
    meta.manifest = core::Manifest({{"adapter/adapter_model.safetensors", 1024, 0644, util::sha256_hex(std::to_string(n))}});
    fs::create_directory(store.versions_dir() / meta.name);
    std::ofstream(store.versions_dir() / meta.name / "metadata.json") << meta.to_json().dump(2) << '\n';
  }
  const std::vector<std::string> list = {tool, "--root", store.root().string(), "list"};
  const double cold = run_seconds(list);
  run_seconds({tool, "--root", store.root().string(), "reindex"});
  const double indexed = run_seconds(list);
  std::printf("\n%-44s %9s\n", "run", "seconds");
  std::printf("%-44s %9.3f\n", "list, every metadata.json parsed", cold);
  std::printf("%-44s %9.3f\n", "list with a fresh registry.json", indexed);
  fs::create_directories(results.parent_path());
  std::ofstream(results) << nlohmann::json{{"versions", k_versions}, {"list_seconds_without_index", cold},
                                           {"list_seconds_with_index", indexed}}
                              .dump(2)
                         << '\n';
  fs::remove_all(work);
  return 0;
}
