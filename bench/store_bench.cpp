// make bench: the store's everyday work on a generated 2 GiB model directory (eight 256 MiB
// shards plus a 50 MiB adapter), each against a reference run in the same invocation (medians
// of 5): create vs `cp -r` + `sha256sum`; create with only the adapter changed vs the first
// create; verify and backup verify vs `openssl dgst -sha256` in one process; a verified
// tar.zst backup vs `tar | zstd -T0 -3`. Then throughput against data size for the plot.
#include "rows.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

constexpr int k_runs = 5;
constexpr std::uint64_t k_shard = 256ULL << 20;
constexpr int k_shards = 8;
constexpr std::uint64_t k_adapter = 50ULL << 20;

/// Writes `size` bytes of xorshift noise (incompressible, like trained weights mostly are).
void write_noise(const fs::path& path, std::uint64_t size, std::uint64_t seed)
{
  std::vector<std::uint64_t> block(1 << 17);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (std::uint64_t written = 0; written < size;) {
    for (auto& word : block) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      word = state;
    }
    const std::uint64_t n = std::min<std::uint64_t>(size - written, block.size() * 8);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    written += n;
  }
}

std::string shell_quote(const fs::path& p)
{
  return "'" + p.string() + "'";
}

/// The files of a directory, for the reference commands.
std::string files_of(const fs::path& dir)
{
  std::string list;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      list += " " + shell_quote(e.path());
    }
  }
  return list;
}

fs::path only_entry(const fs::path& dir)
{
  for (const auto& e : fs::directory_iterator(dir)) {
    return e.path();
  }
  std::fprintf(stderr, "store_bench: nothing in %s\n", dir.c_str());
  std::exit(1);
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 4) {
    std::fprintf(stderr, "usage: store_bench BUILD_DIR WORK_DIR RESULTS_JSON\n");
    return 2;
  }
  const fs::path build = argv[1];
  const fs::path work = argv[2];
  const fs::path results = argv[3];
  const std::string mv = (build / "versioner" / "model-versioner").string();
  const std::string bm = (build / "backup" / "backup-manager").string();
  fs::remove_all(work);
  fs::create_directories(work / "model");
  std::printf("generating a 2 GiB model directory (8 x 256 MiB shards + 50 MiB adapter) in %s ...\n",
              work.c_str());
  for (int i = 0; i < k_shards; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i + 1, k_shards);
    write_noise(work / "model" / name, k_shard, static_cast<std::uint64_t>(i) + 1);
  }
  write_noise(work / "model" / "adapter_model.safetensors", k_adapter, 100);
  std::ofstream(work / "model" / "adapter_config.json") << R"({"peft_type": "LORA", "r": 16})" << '\n';
  const double total_mb = static_cast<double>(k_shards * k_shard + k_adapter) / (1 << 20);
  const fs::path store = work / "store";
  const auto mv_cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv_ = {mv, "--root", store.string(), "-q", "--no-progress"};
    argv_.insert(argv_.end(), args.begin(), args.end());
    return argv_;
  };
  const auto bm_cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv_ = {bm, "--root", store.string(), "-q", "--no-progress"};
    argv_.insert(argv_.end(), args.begin(), args.end());
    return argv_;
  };
  const auto sh = [](const std::string& script) { return std::vector<std::string>{"sh", "-c", script}; };
  std::vector<bench::Row> rows;

  std::printf("create of a new 2 GiB directory ...\n");
  const auto cp_sha =
      bench::median_run(sh("cp -r " + shell_quote(work / "model") + " " + shell_quote(work / "copy") +
                           " && sha256sum " + shell_quote(work / "copy") + "/* > /dev/null"),
                        k_runs, [&] { fs::remove_all(work / "copy"); });
  fs::remove_all(work / "copy");
  const std::vector<std::string> create =
      mv_cmd({"create", "--adapter", (work / "model").string(), "--description", "bench"});
  const auto first = bench::median_run(create, k_runs, [&] { fs::remove_all(store); });
  rows.push_back({"model-versioner create, new 2 GiB dir", "cp -r, then sha256sum of every file",
                  first.seconds, cp_sha.seconds, 0.35, std::nullopt, std::nullopt, std::nullopt, k_runs});

  std::printf("create with only the 50 MiB adapter changed ...\n");
  std::uint64_t seed = 200;
  const auto again = bench::median_run(
      create, k_runs, [&] { write_noise(work / "model" / "adapter_model.safetensors", k_adapter, ++seed); });
  rows.push_back({"create, only the 50 MiB adapter changed", "the first create", again.seconds, first.seconds,
                  0.10, std::nullopt, std::nullopt, std::nullopt, k_runs});

  std::printf("verify ...\n");
  const fs::path latest = fs::canonical(store / "versions" / "latest");
  const auto dgst_version = sh("openssl dgst -sha256" + files_of(latest / "adapter") + " > /dev/null");
  const auto verify = mv_cmd({"verify", "latest"});
  (void)bench::median_run(verify, 1); // into the page cache
  const auto dgst = bench::median_run(dgst_version, k_runs);
  const auto verified = bench::median_run(verify, k_runs);
  rows.push_back({"model-versioner verify, 2 GiB (cached)", "openssl dgst -sha256, one process",
                  verified.seconds, dgst.seconds, 0.60, std::nullopt, std::nullopt, std::nullopt, k_runs});

  std::printf("backup verify ...\n");
  (void)bench::median_run(bm_cmd({"backup", (work / "model").string(), "--type", "bench"}), 1);
  const fs::path backup_data = only_entry(store / "backups" / "bench") / "data";
  const auto bm_verify = bm_cmd({"verify", "--all"});
  (void)bench::median_run(bm_verify, 1);
  const auto dgst_backup =
      bench::median_run(sh("openssl dgst -sha256" + files_of(backup_data) + " > /dev/null"), k_runs);
  const auto bm_verified = bench::median_run(bm_verify, k_runs);
  rows.push_back({"backup-manager verify, 2 GiB dir backup (cached)", "openssl dgst -sha256, one process",
                  bm_verified.seconds, dgst_backup.seconds, 0.60, std::nullopt, std::nullopt, std::nullopt,
                  k_runs});
  fs::remove_all(store / "backups" / "bench");

  std::printf("tar.zst backup ...\n");
  const auto tar_zstd =
      bench::median_run(sh("tar -cf - -C " + shell_quote(work) + " model | zstd -q -T0 -3 -o " +
                           shell_quote(work / "ref.tar.zst")),
                        k_runs, [&] { fs::remove(work / "ref.tar.zst"); });
  const auto zst =
      bench::median_run(bm_cmd({"backup", (work / "model").string(), "--type", "zst", "--format", "tar.zst"}),
                        k_runs, [&] { fs::remove_all(store / "backups" / "zst"); });
  rows.push_back({"backup-manager backup --format tar.zst, incl. verification",
                  "tar | zstd -T0 -3, no verification", zst.seconds, tar_zstd.seconds, 1.3, std::nullopt,
                  std::nullopt, std::nullopt, k_runs});

  // Throughput against size: 1, 2, 4 and 8 shards (one run each below 2 GiB).
  std::printf("throughput against size ...\n");
  nlohmann::json curve = nlohmann::json::array();
  for (int shards : {1, 2, 4, 8}) {
    const fs::path dir = work / ("size-" + std::to_string(shards));
    fs::create_directories(dir);
    std::uint64_t bytes = 0;
    for (int i = 0; i < shards; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i + 1, k_shards);
      fs::create_hard_link(work / "model" / name, dir / name);
      bytes += k_shard;
    }
    const double mb = static_cast<double>(bytes) / (1 << 20);
    const fs::path sized_store = work / "sized";
    fs::remove_all(sized_store);
    const auto c = bench::run_process({mv, "--root", sized_store.string(), "-q", "--no-progress", "create",
                                       "--adapter", dir.string(), "--description", "size"},
                                      true);
    const auto v = bench::run_process({mv, "--root", sized_store.string(), "-q", "verify", "latest"}, true);
    const auto b = bench::run_process({bm, "--root", sized_store.string(), "-q", "--no-progress", "backup",
                                       dir.string(), "--type", "size", "--format", "tar.zst"},
                                      true);
    const auto r =
        bench::run_process(sh("cp -r " + shell_quote(dir) + " " + shell_quote(work / "sized-copy")), true);
    fs::remove_all(work / "sized-copy");
    curve.push_back({{"mb", mb},
                     {"create_mb_s", mb / c.seconds},
                     {"verify_mb_s", mb / v.seconds},
                     {"backup_tar_zst_mb_s", mb / b.seconds},
                     {"cp_mb_s", mb / r.seconds}});
    fs::remove_all(sized_store);
    fs::remove_all(dir);
  }
  bench::write_rows(results, rows, {{"data_mb", total_mb}, {"throughput", curve}});
  fs::remove_all(work);
  return 0;
}
