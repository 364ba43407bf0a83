// make bench: merge time and peak memory of consolidate-model on a generated 2 GiB model
// (BF16, a rank-16 LoRA on every linear), side by side with a naive LibTorch merge that loads
// every tensor first, and with `cp -r` of the base (medians of 5 runs, 3 for the naive one).
// Each is run as its own process so that peak RSS is measured by the kernel (wait4).
#include "rows.hpp"

#include "core/weights/numeric.hpp"
#include "core/weights/safetensors.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include <vector>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k_hidden = 2048;
constexpr std::uint64_t k_rank = 16;
const char* const k_modules[] = {"q_proj", "k_proj", "v_proj", "o_proj"};

std::uint64_t xorshift(std::uint64_t& state)
{
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

/// Writes a tensor of `count` values of small random floats in `dtype`.
void write_random(core::SafetensorsWriter& writer, std::uint64_t count, core::DType dtype, float scale,
                  std::uint64_t& state)
{
  std::vector<float> values(1 << 20);
  std::vector<std::byte> bytes(values.size() * core::dtype_size(dtype));
  while (count > 0) {
    const std::size_t n = std::min<std::uint64_t>(count, values.size());
    for (std::size_t i = 0; i < n; ++i) {
      values[i] = (static_cast<float>(xorshift(state) % 20001) / 10000.0F - 1.0F) * scale;
    }
    core::from_float({values.data(), n}, dtype, {bytes.data(), n * core::dtype_size(dtype)});
    writer.write({bytes.data(), n * core::dtype_size(dtype)});
    count -= n;
  }
}

void generate(const fs::path& dir, std::uint64_t layers)
{
  fs::create_directories(dir / "base");
  fs::create_directories(dir / "adapter");
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  std::vector<core::TensorSpec> base_specs;
  std::vector<core::TensorSpec> adapter_specs;
  for (std::uint64_t l = 0; l < layers; ++l) {
    for (const char* m : k_modules) {
      const std::string name = "model.layers." + std::to_string(l) + ".self_attn." + m;
      base_specs.push_back({name + ".weight", core::DType::BF16, {k_hidden, k_hidden}});
      adapter_specs.push_back(
          {"base_model.model." + name + ".lora_A.weight", core::DType::F32, {k_rank, k_hidden}});
      adapter_specs.push_back(
          {"base_model.model." + name + ".lora_B.weight", core::DType::F32, {k_hidden, k_rank}});
    }
  }
  {
    core::SafetensorsWriter base(dir / "base" / "model.safetensors", base_specs, {{"format", "pt"}});
    for (const auto& spec : base_specs) {
      write_random(base, spec.shape[0] * spec.shape[1], spec.dtype, 0.05F, state);
    }
    base.finish();
  }
  core::SafetensorsWriter adapter(dir / "adapter" / "adapter_model.safetensors", adapter_specs,
                                  {{"format", "pt"}});
  for (const auto& spec : adapter_specs) {
    write_random(adapter, spec.shape[0] * spec.shape[1], spec.dtype, 0.02F, state);
  }
  adapter.finish();
  util::write_file_atomic(
      dir / "adapter" / "adapter_config.json",
      R"({"peft_type": "LORA", "r": 16, "lora_alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]})");
  util::write_file_atomic(dir / "base" / "config.json", R"({"model_type": "llama"})");
}

/// The naive way: every tensor loaded into memory, merged with tensor ops, then saved.
int naive_merge(const fs::path& dir, const fs::path& out)
{
  at::set_num_threads(static_cast<int>(std::max(1U, std::thread::hardware_concurrency())));
  torch::NoGradGuard no_grad;
  const auto read_all = [](const fs::path& path) {
    const std::string bytes = util::read_file(path, std::uint64_t{1} << 40);
    const auto file = core::SafetensorsFile::open(path);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& info : file.tensors()) {
      const auto type = info.dtype == core::DType::BF16 ? torch::kBFloat16 : torch::kFloat32;
      torch::Tensor t = torch::empty(std::vector<std::int64_t>(info.shape.begin(), info.shape.end()), type);
      std::memcpy(t.data_ptr(), bytes.data() + file.data_start() + info.begin, info.nbytes());
      tensors.emplace_back(info.name, t);
    }
    return tensors;
  };
  auto base = read_all(dir / "base" / "model.safetensors");
  const auto adapter = read_all(dir / "adapter" / "adapter_model.safetensors");
  std::map<std::string, torch::Tensor> lora(adapter.begin(), adapter.end());
  for (auto& [name, weight] : base) {
    const std::string module = "base_model.model." + name.substr(0, name.size() - 7);
    const torch::Tensor delta =
        torch::matmul(lora.at(module + ".lora_B.weight"), lora.at(module + ".lora_A.weight")) * 2.0F;
    weight = (weight.to(torch::kFloat32) + delta).to(torch::kBFloat16);
  }
  std::vector<core::TensorSpec> specs;
  for (const auto& [name, weight] : base) {
    specs.push_back(
        {name,
         core::DType::BF16,
         {static_cast<std::uint64_t>(weight.size(0)), static_cast<std::uint64_t>(weight.size(1))}});
  }
  fs::create_directories(out);
  core::SafetensorsWriter writer(out / "model.safetensors", specs, {{"format", "pt"}});
  for (const auto& [name, weight] : base) {
    writer.write(
        {static_cast<const std::byte*>(weight.data_ptr()), static_cast<std::size_t>(weight.nbytes())});
  }
  writer.finish();
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc == 4 && std::string(argv[1]) == "--naive") {
    return naive_merge(argv[2], argv[3]);
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: merge_bench CONSOLIDATE_MODEL WORK_DIR RESULTS_JSON\n");
    return 2;
  }
  const std::string tool = argv[1];
  const fs::path work = argv[2];
  const fs::path results = argv[3];
  const std::uint64_t layers = 64; // 64 x 4 x 2048 x 2048 BF16 = 2 GiB
  fs::remove_all(work);
  std::printf("generating a %llu-layer BF16 model (2 GiB) and a rank-16 adapter in %s ...\n",
              static_cast<unsigned long long>(layers), work.c_str());
  generate(work, layers);
  const double base_mb = static_cast<double>(fs::file_size(work / "base" / "model.safetensors")) / (1 << 20);
  // The physical limit: read every base shard and write the same bytes durably.
  fs::create_directories(work / "copy");
  std::string dd = "true";
  for (const auto& entry : fs::directory_iterator(work / "base")) {
    if (entry.path().extension() == ".safetensors") {
      dd += " && dd status=none bs=16M conv=fsync if='" + entry.path().string() + "' of='" +
            (work / "copy" / entry.path().filename()).string() + "'";
    }
  }
  const auto cp = bench::median_run({"sh", "-c", dd}, 5, [&] {
    fs::remove_all(work / "copy");
    fs::create_directories(work / "copy");
  });
  const auto ours = bench::median_run({tool, "merge", "--base", (work / "base").string(), "--adapter",
                                       (work / "adapter").string(), "--output", (work / "ours").string(),
                                       "-q", "--no-progress"},
                                      5, [&] { fs::remove_all(work / "ours"); });
  // check reads base, adapter and merged model and recomputes every merged tensor: at read speed,
  // against hashing the same two files.
  const auto check = bench::median_run({tool, "check", "--base", (work / "base").string(), "--adapter",
                                        (work / "adapter").string(), "--merged", (work / "ours").string(), "-q",
                                        "--no-progress"},
                                       3, [] {});
  const auto hashing = bench::median_run({"openssl", "dgst", "-sha256", (work / "base" / "model.safetensors").string(),
                                          (work / "ours" / "model.safetensors").string()},
                                         3, [] {});
  const auto naive = bench::median_run({argv[0], "--naive", work.string(), (work / "naive").string()}, 3,
                                       [&] { fs::remove_all(work / "naive"); });
  const bool identical = util::read_file(work / "ours" / "model.safetensors", std::uint64_t{1} << 40) ==
                         util::read_file(work / "naive" / "model.safetensors", std::uint64_t{1} << 40);
  std::vector<bench::Row> rows;
  rows.push_back({"consolidate-model merge, 2 GiB BF16, rank 16 on every linear",
                  "dd bs=16M conv=fsync of each base shard (read + durable write)", ours.seconds, cp.seconds, 1.5,
                  std::nullopt, ours.peak_rss_mb, 300.0, 5});
  rows.push_back({"same merge", "naive LibTorch merge (load all, merge, save)", ours.seconds, naive.seconds,
                  0.5, std::nullopt, ours.peak_rss_mb, naive.peak_rss_mb * 0.5, 5});
  rows.push_back({"consolidate-model check of the same merge", "openssl dgst -sha256 of base + merged",
                  check.seconds, hashing.seconds, 1.2, std::nullopt, check.peak_rss_mb, 600.0, 3});
  std::printf("peak RSS: merge %.0f MB, naive %.0f MB; outputs identical: %s\n", ours.peak_rss_mb,
              naive.peak_rss_mb, identical ? "yes" : "NO");
  // Time against size: 256 MiB to 8 GiB (8 to 256 layers of 32 MiB), one run each.
  nlohmann::json curve = nlohmann::json::array();
  if (std::getenv("MODELKEEP_BENCH_NO_CURVE") == nullptr) {
    for (const std::uint64_t n : {8, 16, 32, 64, 128, 256}) {
      const fs::path sized = work / "sized";
      fs::remove_all(sized);
      generate(sized, n);
      ::sync();
      const double mb = static_cast<double>(fs::file_size(sized / "base" / "model.safetensors")) / (1 << 20);
      const auto run = bench::run_process({tool, "merge", "--base", (sized / "base").string(), "--adapter",
                                           (sized / "adapter").string(), "--output", (sized / "out").string(), "-q",
                                           "--no-progress"},
                                          true);
      std::printf("  merge %6.0f MB: %.2f s, peak RSS %.0f MB\n", mb, run.seconds, run.peak_rss_mb);
      curve.push_back({{"mb", mb}, {"merge_s", run.seconds}, {"merge_rss_mb", run.peak_rss_mb}});
      fs::remove_all(sized);
    }
  }
  bench::write_rows(results, rows,
                    {{"model_mb", base_mb},
                     {"curve", curve},
                     {"outputs_identical", identical},
                     {"peak_rss_mb", {{"merge", ours.peak_rss_mb}, {"naive", naive.peak_rss_mb}}}});
  if (std::getenv("MODELKEEP_BENCH_KEEP") == nullptr) {
    fs::remove_all(work);
  }
  return identical ? 0 : 1;
}
