// make bench: `model-versioner list` of 10,000 synthetic versions, read from every
// metadata.json and from a fresh versions/index.json index; `catalog` of 1,000 models of 10
// versions; both against the number of versions, 100 to 100,000.
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

/// Writes versions first..last of the model `store` as create would leave their metadata.
void write_versions(const core::Store& store, int first, int last)
{
  for (int n = first; n <= last; ++n) {
    core::VersionMetadata meta;
    meta.number = static_cast<std::uint64_t>(n);
    meta.id = core::version_id(meta.number);
    meta.name = meta.id + "_20251116_143000_run_" + std::to_string(n);
    meta.created_at = "2025-11-16T14:30:00Z";
    meta.description = "run " + std::to_string(n);
    meta.metrics = {{"f1_score", 0.5 + n * 1e-6}};
    meta.manifest = core::Manifest(
        {{"adapter/adapter_model.safetensors", 1024, 0644, util::sha256_hex(std::to_string(n))}});
    fs::create_directory(store.versions_dir() / meta.name);
    std::ofstream(store.versions_dir() / meta.name / "metadata.json") << meta.to_json().dump(2) << '\n';
  }
}

/// A root of `models` named models with `per_model` versions each, every index fresh.
fs::path write_models(const fs::path& root, int models, int per_model, const std::string& tool)
{
  fs::remove_all(root);
  for (int m = 0; m < models; ++m) {
    char name[32];
    std::snprintf(name, sizeof name, "model_%05d", m);
    const core::Store store(root, name);
    store.ensure_layout();
    write_versions(store, 1, per_model);
  }
  run_seconds({tool, "--root", root.string(), "reindex", "--all-models"});
  (void)run_seconds({tool, "--root", root.string(), "catalog"}); // writes catalog.json
  return root;
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
  write_versions(store, 1, k_versions);
  const std::vector<std::string> list = {tool, "--root", store.root().string(), "list"};
  // Without the index: every metadata.json parsed; then with a fresh index.json.
  fs::remove(store.versions_dir() / "index.json");
  const double cold = bench::median_run(list, 5).seconds;
  run_seconds({tool, "--root", store.root().string(), "reindex"});
  const double indexed = bench::median_run(list, 5).seconds;
  std::vector<bench::Row> rows;
  rows.push_back({"model-versioner list, 10,000 versions", "", indexed, 0, std::nullopt, 0.05, std::nullopt,
                  std::nullopt, 5});
  rows.push_back({"  same, without the index (every metadata.json)", "", cold, 0, std::nullopt, std::nullopt,
                  std::nullopt, std::nullopt, 5});

  std::printf("writing 1,000 models of 10 versions ...\n");
  const fs::path catalog_root = write_models(work / "catalog", 1000, 10, tool);
  const double catalog = bench::median_run({tool, "--root", catalog_root.string(), "catalog"}, 5).seconds;
  rows.push_back({"model-versioner catalog, 1,000 models x 10 versions", "", catalog, 0, std::nullopt, 0.2,
                  std::nullopt, std::nullopt, 5});

  // Time against the number of versions: list of one model, catalog of models of 10 versions.
  nlohmann::json curve = nlohmann::json::array();
  fs::remove_all(work / "catalog");
  for (const int count : {100, 1000, 10000, 100000}) {
    const core::Store one(work / ("list-" + std::to_string(count)));
    one.ensure_layout();
    write_versions(one, 1, count);
    run_seconds({tool, "--root", one.root().string(), "reindex"});
    const double listed = bench::median_run({tool, "--root", one.root().string(), "list"}, 3).seconds;
    fs::remove_all(one.root());
    const fs::path root = write_models(work / "catalog-curve", count / 10, 10, tool);
    const double cataloged = bench::median_run({tool, "--root", root.string(), "catalog"}, 3).seconds;
    fs::remove_all(root);
    std::printf("  %6d versions: list %.3f s, catalog (%d models) %.3f s\n", count, listed, count / 10, cataloged);
    curve.push_back({{"versions", count}, {"list_s", listed}, {"catalog_s", cataloged}});
  }
  bench::write_rows(results, rows, {{"versions", k_versions}, {"curve", curve}});
  if (std::getenv("MODELKEEP_BENCH_KEEP") == nullptr) {
    fs::remove_all(work);
  }
  return 0;
}
