// make bench: the store's everyday work on a generated 2 GiB model directory (eight 256 MiB
// shards plus a 50 MiB adapter), each against a reference run in the same invocation (medians
// of 5): create vs `cp -r && sync` with and without `sha256sum`; create with only the adapter
// changed vs the first create, on ext4 and on XFS with reflinks (a loop image); verify and
// backup verify vs `openssl dgst -sha256` in one process; a verified tar.zst backup vs
// `tar | zstd -T0 -3 > f && sync`; push vs `restic backup`. Then time against data size,
// 256 MiB to 8 GiB, for the curves.
#include "rows.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
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

/// Runs `script` with sh, for setup steps whose failure only means a row is left out.
bool shell_ok(const std::string& script)
{
  return std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
}

/// The adapter-only create on XFS with reflinks, against the first create there: the model
/// on a loop-mounted XFS image (reflink=1). Left out, with the reason, where mkfs.xfs or
/// mounting is unavailable.
std::optional<bench::Row> xfs_rows(const fs::path& work, const std::string& mv, double total_mb)
{
  const fs::path image = work / "xfs.img";
  const fs::path mnt = work / "xfs";
  fs::create_directories(mnt);
  const std::uint64_t size = static_cast<std::uint64_t>(total_mb * 2.5) << 20;
  if (!shell_ok("command -v mkfs.xfs && truncate -s " + std::to_string(size) + " " + shell_quote(image) +
                " && mkfs.xfs -q -m reflink=1 " + shell_quote(image) + " && mount -o loop " + shell_quote(image) +
                " " + shell_quote(mnt))) {
    std::printf("xfs row left out: no mkfs.xfs or no loop mount here\n");
    fs::remove(image);
    return std::nullopt;
  }
  std::printf("create with only the adapter changed, on XFS with reflinks ...\n");
  (void)shell_ok("cp -r " + shell_quote(work / "model") + " " + shell_quote(mnt / "model") + " && sync");
  const fs::path store = mnt / "store";
  const std::vector<std::string> create = {mv, "--root", store.string(), "-q", "--no-progress", "create",
                                           "--adapter", (mnt / "model").string(), "--description", "bench"};
  const auto first = bench::median_run(create, 3, [&] { fs::remove_all(store); });
  std::uint64_t seed = 500;
  const auto again = bench::median_run(
      create, k_runs, [&] { write_noise(mnt / "model" / "adapter_model.safetensors", k_adapter, ++seed); });
  (void)shell_ok("umount " + shell_quote(mnt));
  fs::remove(image);
  return bench::Row{"  same, on XFS with reflink (loop image)", "the first create there", again.seconds,
                    first.seconds, 0.05, std::nullopt, std::nullopt, std::nullopt, k_runs};
}

/// backup-manager push of a 300 MB backup against a plain `restic backup` of the same
/// directory, each into a fresh repository. Left out without restic.
std::optional<bench::Row> push_row(const fs::path& work, const std::string& bm, const fs::path& store, int runs)
{
  if (!shell_ok("command -v restic")) {
    std::printf("push row left out: restic is not installed\n");
    return std::nullopt;
  }
  std::printf("push of a 300 MB backup ...\n");
  const fs::path source = work / "push-source";
  fs::create_directories(source);
  char name[64];
  std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", 1, k_shards);
  fs::create_hard_link(work / "model" / name, source / name);
  fs::create_hard_link(work / "model" / "adapter_model.safetensors", source / "adapter_model.safetensors");
  const std::vector<std::string> backup = {bm, "--root", store.string(), "-q", "--no-progress", "backup",
                                           source.string(), "--type", "push"};
  (void)bench::run_process(backup, true);
  const fs::path data = only_entry(store / "backups" / "push") / "data";
  std::ofstream(work / "restic-password") << "bench\n";
  ::setenv("RESTIC_PASSWORD_FILE", (work / "restic-password").c_str(), 1);
  // A fresh repository at a new path for every run: a push into a repository the backup's
  // record already names would first look for that copy.
  const auto run_fresh = [&](const std::string& what, int i, const auto& argv_for) {
    const fs::path repo = work / ("restic-repo-" + what + "-" + std::to_string(i));
    fs::remove_all(repo);
    (void)shell_ok("restic init -q --repo " + shell_quote(repo));
    ::sync();
    const double seconds = bench::run_process(argv_for(repo), true).seconds;
    fs::remove_all(repo);
    return seconds;
  };
  std::vector<double> plain_runs;
  std::vector<double> push_runs;
  for (int i = 0; i < runs; ++i) {
    plain_runs.push_back(run_fresh("plain", i, [&](const fs::path& repo) {
      return std::vector<std::string>{"restic", "backup", "-q", "--repo", repo.string(), data.string()};
    }));
    push_runs.push_back(run_fresh("push", i, [&](const fs::path& repo) {
      return std::vector<std::string>{bm, "--root", store.string(), "-q", "push", "--all", "--repo", repo.string()};
    }));
  }
  const struct {
    double seconds;
  } plain{bench::median(plain_runs)}, pushed{bench::median(push_runs)};
  fs::remove_all(source);
  fs::remove_all(store / "backups" / "push");
  return bench::Row{"backup-manager push of a 300 MB backup", "restic backup of the same dir, fresh repository",
                    pushed.seconds, plain.seconds, 1.2, std::nullopt, std::nullopt, std::nullopt, runs};
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
  // References that are durable, as create is: a copy made durable with sync, with and
  // without sha256sum of every file afterwards.
  const std::string cp_sync =
      "cp -r " + shell_quote(work / "model") + " " + shell_quote(work / "copy") + " && sync";
  const auto cp_synced = bench::median_run(sh(cp_sync), k_runs, [&] { fs::remove_all(work / "copy"); });
  const auto cp_sha = bench::median_run(sh(cp_sync + " && sha256sum " + shell_quote(work / "copy") + "/* > /dev/null"),
                                        k_runs, [&] { fs::remove_all(work / "copy"); });
  fs::remove_all(work / "copy");
  const std::vector<std::string> create =
      mv_cmd({"create", "--adapter", (work / "model").string(), "--description", "bench"});
  const auto first = bench::median_run(create, k_runs, [&] { fs::remove_all(store); });
  rows.push_back({"model-versioner create, new 2 GiB dir", "cp -r && sync, then sha256sum of every file",
                  first.seconds, cp_sha.seconds, 0.25, std::nullopt, std::nullopt, std::nullopt, k_runs});
  rows.push_back({"  same", "cp -r && sync (a durable copy, no hashing)", first.seconds, cp_synced.seconds, 1.0,
                  std::nullopt, std::nullopt, std::nullopt, k_runs});

  std::printf("create with only the 50 MiB adapter changed ...\n");
  std::uint64_t seed = 200;
  const auto again = bench::median_run(
      create, k_runs, [&] { write_noise(work / "model" / "adapter_model.safetensors", k_adapter, ++seed); });
  rows.push_back({"create, only the 50 MiB adapter changed, ext4", "the first create", again.seconds, first.seconds,
                  0.10, std::nullopt, std::nullopt, std::nullopt, k_runs});
  if (const auto row = xfs_rows(work, mv, total_mb)) {
    rows.push_back(*row);
  }

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
                           shell_quote(work / "ref.tar.zst") + " && sync"),
                        k_runs, [&] { fs::remove(work / "ref.tar.zst"); });
  const auto zst =
      bench::median_run(bm_cmd({"backup", (work / "model").string(), "--type", "zst", "--format", "tar.zst"}),
                        k_runs, [&] { fs::remove_all(store / "backups" / "zst"); });
  rows.push_back({"backup-manager backup --format tar.zst, incl. verification",
                  "tar | zstd -T0 -3 > f && sync, no verification", zst.seconds, tar_zstd.seconds, 1.3, std::nullopt,
                  std::nullopt, std::nullopt, k_runs});
  fs::remove_all(store / "backups" / "zst"); // the last run's backup: push --all below must send one
  fs::remove(work / "ref.tar.zst");

  if (const auto row = push_row(work, bm, store, k_runs)) {
    rows.push_back(*row);
  }

  // Time against size, 256 MiB to 8 GiB (one run each): more shards of new noise beyond the
  // model's eight, so that create stores every byte.
  std::printf("time against size ...\n");
  nlohmann::json curve = nlohmann::json::array();
  fs::remove_all(store);
  for (int shards : {1, 2, 4, 8, 16, 32}) {
    const fs::path dir = work / ("size-" + std::to_string(shards));
    fs::create_directories(dir);
    std::uint64_t bytes = 0;
    for (int i = 0; i < shards; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", i + 1, k_shards);
      const fs::path extra = work / ("extra-" + std::to_string(i));
      if (i < k_shards) {
        fs::create_hard_link(work / "model" / name, dir / name);
      } else {
        if (!fs::exists(extra)) {
          write_noise(extra, k_shard, 1000 + static_cast<std::uint64_t>(i));
        }
        fs::create_hard_link(extra, dir / name);
      }
      bytes += k_shard;
    }
    ::sync();
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
    const auto r = bench::run_process(
        sh("cp -r " + shell_quote(dir) + " " + shell_quote(work / "sized-copy") + " && sync"), true);
    fs::remove_all(work / "sized-copy");
    std::printf("  %6.0f MB: create %.2f s, verify %.2f s, backup tar.zst %.2f s, cp -r && sync %.2f s\n", mb,
                c.seconds, v.seconds, b.seconds, r.seconds);
    curve.push_back({{"mb", mb},
                     {"create_s", c.seconds},
                     {"verify_s", v.seconds},
                     {"backup_tar_zst_s", b.seconds},
                     {"cp_sync_s", r.seconds},
                     {"create_mb_s", mb / c.seconds},
                     {"verify_mb_s", mb / v.seconds},
                     {"backup_tar_zst_mb_s", mb / b.seconds},
                     {"cp_mb_s", mb / r.seconds}});
    fs::remove_all(sized_store);
    fs::remove_all(dir);
  }
  for (int i = k_shards; i < 32; ++i) {
    fs::remove(work / ("extra-" + std::to_string(i)));
  }
  bench::write_rows(results, rows, {{"data_mb", total_mb}, {"throughput", curve}});
  fs::remove_all(work);
  return 0;
}
