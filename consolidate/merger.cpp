#include "merger.hpp"

#include "core/tree/manifest.hpp"
#include "core/weights/numeric.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"

#include <algorithm>
#include <dlfcn.h>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <torch/torch.h>

namespace modelkeep::consolidate {

using core::DType;

/// One thread for LibTorch's own (OpenMP) pool and for OpenBLAS's: their idle workers spin
/// between the small B @ A products (OpenBLAS's with sched_yield: a third of the merge's CPU
/// samples in `perf`, 4.4 s of system time on the 2 GiB bench model) and take a core from the
/// element-wise pass and the writes; the merge spreads its tensors over the cores itself.
/// A product of rank r is split over rows and columns, never over r, so one thread gives the
/// same bits as many (the bench compares the output with a default LibTorch merge's). Found
/// by name, so that another BLAS (the reference one) is left alone.
void use_one_core_for_torch()
{
  at::set_num_threads(1);
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
}

namespace {

std::vector<std::int64_t> dims(const std::vector<std::uint64_t>& shape)
{
  return {shape.begin(), shape.end()};
}

/// A float32 tensor with the values of a stored tensor. The stored bytes' pages are released
/// once copied: an adapter's A and B matrices otherwise stayed resident for the whole merge, and
/// peak RSS grew with the model (a rank-16 adapter on every linear of 8 GiB is ~250 MB).
torch::Tensor load_float(const core::SafetensorsFile& file, const core::TensorInfo& info)
{
  torch::Tensor out = torch::empty(dims(info.shape), torch::kFloat32);
  core::to_float(file.data(info), info.dtype,
                 {out.data_ptr<float>(), static_cast<std::size_t>(info.numel())});
  file.release(info);
  return out;
}

/// Computes the scaled delta of one LoRA module into `buffer` (reused from tensor to tensor, so
/// that merging allocates no full-size temporaries) and returns it as a view oriented and shaped
/// like the base tensor.
torch::Tensor module_delta(const core::Adapter& adapter, const core::Delta& delta, at::IntArrayRef base_shape,
                           torch::Tensor& buffer)
{
  const auto& module = *delta.module;
  const torch::Tensor a = load_float(adapter.file(), *module.a);
  const torch::Tensor b = load_float(adapter.file(), *module.b);
  const torch::Tensor a2 = a.reshape({a.size(0), -1});
  const torch::Tensor b2 = b.reshape({b.size(0), b.size(1)});
  buffer.resize_({b2.size(0), a2.size(1)});
  at::mm_out(buffer, b2, a2);
  buffer.mul_(static_cast<float>(delta.factor));
  switch (module.kind) {
  case core::LoraKind::linear:
    return delta.transposed ? buffer.t() : buffer;
  case core::LoraKind::embedding:
    return buffer.t();
  case core::LoraKind::conv:
    return buffer.view(base_shape);
  }
  return buffer;
}

/// Rescales each output row of `weight` (W + delta) to the DoRA magnitude; for an embedding
/// [tokens, dim], each embedding dimension (column), as PEFT's DoraEmbeddingLayer does.
void apply_dora(const core::Adapter& adapter, const core::Delta& delta, torch::Tensor& weight)
{
  const torch::Tensor magnitude = load_float(adapter.file(), *delta.module->magnitude).reshape({-1});
  // Views of the contiguous weight, so the in-place scaling lands in it.
  const bool columns = delta.transposed || delta.module->kind == core::LoraKind::embedding;
  torch::Tensor rows = columns ? weight.t() : weight.view({weight.size(0), -1});
  const torch::Tensor norm = rows.norm(2, 1);
  rows.mul_((magnitude / norm).unsqueeze(1));
}

/// Computes each output tensor of a merge and writes the shards (write_merged), or hands the
/// bytes to a comparison (check_merged).
class ShardWriter {
public:
  ShardWriter(const core::BaseModel& base, const std::vector<core::Adapter>& adapters, const core::MergePlan& plan,
              MergeStats& stats, util::Progress* progress)
      : m_base(base), m_adapters(adapters), m_plan(plan), m_stats(stats), m_progress(progress)
  {
  }

  void write(const std::vector<core::TensorPlan>& plans, std::size_t shard, const fs::path& path)
  {
    std::vector<core::TensorSpec> specs;
    specs.reserve(plans.size());
    for (const auto& plan : plans) {
      specs.push_back({plan.name, plan.out_dtype, plan.out_shape});
    }
    core::SafetensorsWriter writer(path, specs, m_base.shards()[shard].metadata());
    for (const auto& plan : plans) {
      write_tensor(plan, writer);
      ++m_stats.tensors_written;
    }
    writer.finish();
    check_written(path, specs);
  }

  /// The bytes `plan` gives in the merged model: the base's own (mapped) for an untouched
  /// tensor, else computed into a buffer reused from tensor to tensor. Valid until the next
  /// call; done(plan) once they have been used.
  std::span<const std::byte> produce(const core::TensorPlan& plan)
  {
    if (plan.untouched()) {
      return m_base.shards()[plan.shard].data(*plan.base);
    }
    if (plan.replacement == nullptr && sums_deltas() && fusable(plan)) {
      fuse(plan);
      return m_bytes;
    }
    const torch::Tensor values = plan.replacement != nullptr ? replacement_values(plan) : merged_values(plan);
    m_bytes.resize(static_cast<std::size_t>(values.numel()) * core::dtype_size(plan.out_dtype));
    core::from_float({values.data_ptr<float>(), static_cast<std::size_t>(values.numel())}, plan.out_dtype,
                     m_bytes);
    return m_bytes;
  }

  void done(const core::TensorPlan& plan)
  {
    if (plan.untouched()) {
      m_base.shards()[plan.shard].release(*plan.base);
    }
  }

private:
  void write_tensor(const core::TensorPlan& plan, core::SafetensorsWriter& writer)
  {
    const auto bytes = produce(plan);
    writer.write(bytes);
    count(bytes.size());
    done(plan);
  }

  /// One LoRA delta laid out like the weight, no DoRA, no bias: the common case, merged in
  /// one pass over memory.
  static bool fusable(const core::TensorPlan& plan)
  {
    const auto ok = [](core::DType t) {
      return t == core::DType::BF16 || t == core::DType::F16 || t == core::DType::F32;
    };
    if (plan.deltas.size() != 1 || plan.dora || !plan.bias_deltas.empty() || !ok(plan.base->dtype) ||
        !ok(plan.out_dtype)) {
      return false;
    }
    const auto& delta = plan.deltas.front();
    return !delta.transposed && delta.module->kind != core::LoraKind::embedding;
  }

  /// W' = W + delta, by blocks of rows: each block's B[rows] @ A product through LibTorch,
  /// then widening, adding, the largest |delta| and narrowing in one pass, the blocks spread
  /// across the cores. A block's delta (about 256 KiB) stays in the core's cache between the
  /// product and the add: the whole delta of a 2048 x 2048 weight (16 MiB of floats) did not,
  /// and writing it out and reading it back made the merge bound by memory bandwidth. Each
  /// element is the same rank-long dot product as in the whole product, scaled the same way:
  /// the output is identical (the benchmark compares it with a plain LibTorch merge).
  void fuse(const core::TensorPlan& plan)
  {
    const auto& delta = plan.deltas.front();
    const auto& file = m_base.shards()[plan.shard];
    const auto& adapter = m_adapters[delta.adapter];
    const auto& module = *delta.module;
    const torch::Tensor a = load_float(adapter.file(), *module.a);
    const torch::Tensor b = load_float(adapter.file(), *module.b);
    const torch::Tensor a2 = a.reshape({a.size(0), -1});
    const torch::Tensor b2 = b.reshape({b.size(0), b.size(1)});
    const auto n = static_cast<std::size_t>(plan.base->numel());
    if (static_cast<std::size_t>(b2.size(0) * a2.size(1)) != n) {
      throw Error(ExitCode::malformed, "the delta of " + module.module + " does not match " + plan.name);
    }
    const auto rows = static_cast<std::size_t>(b2.size(0));
    const auto columns = static_cast<std::size_t>(a2.size(1));
    const std::size_t in_size = core::dtype_size(plan.base->dtype);
    const std::size_t out_size = core::dtype_size(plan.out_dtype);
    m_bytes.resize(n * out_size);
    const auto base = file.data(*plan.base);
    const std::size_t block_rows = std::max<std::size_t>(1, (std::size_t{1} << 16) / std::max<std::size_t>(columns, 1));
    const std::size_t blocks = (rows + block_rows - 1) / block_rows;
    const auto factor = static_cast<float>(delta.factor);
    std::vector<double> largest(blocks, 0.0);
    util::parallel_for(blocks, util::worker_threads(blocks), [&](std::size_t k) {
      const std::size_t first = k * block_rows;
      const std::size_t count = std::min(block_rows, rows - first);
      torch::Tensor part = at::mm(b2.narrow(0, static_cast<std::int64_t>(first), static_cast<std::int64_t>(count)), a2);
      part.mul_(factor);
      const std::size_t from = first * columns;
      const std::size_t values = count * columns;
      largest[k] = core::add_converted(base.subspan(from * in_size, values * in_size), plan.base->dtype,
                                       {part.data_ptr<float>(), values}, plan.out_dtype,
                                       std::span<std::byte>(m_bytes).subspan(from * out_size, values * out_size));
    });
    file.release(*plan.base);
    note_delta(module.module, largest.empty() ? 0.0 : *std::max_element(largest.begin(), largest.end()));
  }

  torch::Tensor replacement_values(const core::TensorPlan& plan)
  {
    const auto& file = m_adapters[plan.replacement_adapter].file();
    if (!core::is_mergeable(plan.replacement->dtype) || !core::is_mergeable(plan.out_dtype)) {
      throw Error(ExitCode::malformed, "cannot convert " + plan.replacement->name + " to " +
                                           std::string(core::dtype_name(plan.out_dtype)));
    }
    return load_float(file, *plan.replacement);
  }

  torch::Tensor merged_values(const core::TensorPlan& plan)
  {
    const auto& file = m_base.shards()[plan.shard];
    m_weight.resize(static_cast<std::size_t>(plan.base->numel()));
    core::to_float(file.data(*plan.base), plan.base->dtype, m_weight);
    file.release(*plan.base);
    torch::Tensor weight = torch::from_blob(m_weight.data(), dims(plan.base->shape), torch::kFloat32);
    if (!sums_deltas() && !plan.deltas.empty()) {
      std::vector<torch::Tensor> parts;
      for (std::size_t i = 0; i < plan.deltas.size(); ++i) {
        const auto& delta = plan.deltas[i];
        parts.push_back(module_delta(m_adapters[delta.adapter], delta, weight.sizes(), m_delta).clone());
      }
      const torch::Tensor combined = combine(parts, plan.name);
      const double max_abs = largest_magnitude(combined);
      for (const auto& delta : plan.deltas) {
        note_delta(delta.module->module, max_abs);
      }
      weight.add_(combined);
    } else if (plan.dora && plan.deltas.size() > 1) {
      merge_with_dora(plan, weight);
    } else {
      for (const auto& delta : plan.deltas) {
        const torch::Tensor d = module_delta(m_adapters[delta.adapter], delta, weight.sizes(), m_delta);
        note_delta(delta.module->module, largest_magnitude(d));
        weight.add_(d);
      }
    }
    if (plan.dora && plan.deltas.size() == 1) {
      apply_dora(m_adapters[plan.dora->adapter], *plan.dora, weight);
    }
    for (const auto& delta : plan.bias_deltas) {
      const torch::Tensor bias =
          load_float(m_adapters[delta.adapter].file(), *delta.module->bias).reshape(weight.sizes());
      weight.add_(bias * static_cast<float>(delta.factor));
    }
    return weight;
  }

  /// Several adapters on one weight, DoRA among them, as PEFT merges them since its fix for
  /// issue #3608: each DoRA adapter's norm is taken on the unmerged weight W0, so the merged
  /// model equals the unmerged forward pass whatever the order of the adapters:
  /// W = W0 + sum over LoRA d + sum over DoRA (f (W0 + d) - W0), f = m / ||W0 + d|| per row.
  void merge_with_dora(const core::TensorPlan& plan, torch::Tensor& weight)
  {
    const torch::Tensor unmerged = weight.clone();
    for (const auto& delta : plan.deltas) {
      const torch::Tensor d = module_delta(m_adapters[delta.adapter], delta, weight.sizes(), m_delta);
      note_delta(delta.module->module, largest_magnitude(d));
      if (delta.module->magnitude == nullptr) {
        weight.add_(d);
        continue;
      }
      torch::Tensor rescaled = unmerged + d;
      apply_dora(m_adapters[delta.adapter], delta, rescaled);
      weight.add_(rescaled - unmerged);
    }
  }

  static double largest_magnitude(const torch::Tensor& t)
  {
    const auto [low, high] = torch::aminmax(t);
    return std::max(-low.item<double>(), high.item<double>());
  }

  /// Records a delta's largest |value| in the statistics, overall and for its module.
  void note_delta(const std::string& module, double max_abs)
  {
    m_stats.max_abs_delta = std::max(m_stats.max_abs_delta, max_abs);
    double& module_max = m_stats.module_max[module];
    module_max = std::max(module_max, max_abs);
  }

  /// Whether the combination is the plain sum: linear, and the pruning ones that keep everything
  /// (density 1), which then give the same bits as linear.
  [[nodiscard]] bool sums_deltas() const
  {
    using core::Combination;
    return m_plan.combination == Combination::linear ||
           (m_plan.density >= 1 &&
            (m_plan.combination == Combination::magnitude_prune || m_plan.combination == Combination::dare_linear));
  }

  /// The deltas of one tensor combined as m_plan says (see core::Combination).
  torch::Tensor combine(std::vector<torch::Tensor>& parts, const std::string& tensor) const
  {
    using core::Combination;
    const Combination how = m_plan.combination;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (how == Combination::magnitude_prune || how == Combination::ties) {
        parts[i] = prune_by_magnitude(parts[i], m_plan.density);
      } else if (how == Combination::dare_linear || how == Combination::dare_ties) {
        parts[i] = drop_at_random(parts[i], m_plan.density, seed_for(tensor, i));
      }
    }
    const torch::Tensor stacked = torch::stack(parts);
    const torch::Tensor total = stacked.sum(0);
    if (how != Combination::ties && how != Combination::dare_ties) {
      return total;
    }
    // The sign with the larger total mass wins (a zero total elects +); each element is the mean
    // of the values that agree with it (zeros agree with nothing).
    const torch::Tensor elected = torch::where(total >= 0, 1.0F, -1.0F);
    const torch::Tensor agree = (stacked.sign() == elected).to(torch::kFloat32);
    return (stacked * agree).sum(0) / agree.sum(0).clamp_min(1.0);
  }

  /// The floor(density * n) values of largest magnitude, the others zero.
  static torch::Tensor prune_by_magnitude(const torch::Tensor& t, double density)
  {
    const auto n = t.numel();
    const auto keep = static_cast<std::int64_t>(std::floor(density * static_cast<double>(n)));
    if (keep >= n) {
      return t;
    }
    torch::Tensor flat = t.reshape({-1});
    torch::Tensor mask = torch::zeros({n}, torch::kFloat32);
    if (keep > 0) {
      const torch::Tensor top = std::get<1>(torch::topk(flat.abs(), keep));
      mask.index_fill_(0, top, 1.0F);
    }
    return (flat * mask).reshape(t.sizes());
  }

  /// Each value kept with probability `density` and divided by it, dropped otherwise.
  static torch::Tensor drop_at_random(const torch::Tensor& t, double density, std::uint64_t seed)
  {
    if (density >= 1) {
      return t;
    }
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const torch::Tensor keep = torch::bernoulli(torch::full_like(t, density), generator);
    return t * keep / static_cast<float>(density);
  }

  /// The DARE seed of one adapter's delta on one tensor: --seed, the tensor's name and the
  /// adapter's position, so that a merge is the same whatever order tensors are computed in.
  std::uint64_t seed_for(const std::string& tensor, std::size_t adapter) const
  {
    std::uint64_t hash = 1469598103934665603ULL ^ m_plan.seed; // FNV-1a over the name
    for (const char c : tensor) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return hash ^ (0x9E3779B97F4A7C15ULL * (adapter + 1));
  }

  void count(std::uint64_t bytes)
  {
    m_stats.bytes_written += bytes;
    if (m_progress != nullptr) {
      m_progress->add(bytes);
    }
  }

  static void check_written(const fs::path& path, const std::vector<core::TensorSpec>& specs)
  {
    const auto written = core::SafetensorsFile::open(path);
    for (const auto& spec : specs) {
      const core::TensorInfo* info = written.find(spec.name);
      if (info == nullptr || info->dtype != spec.dtype || info->shape != spec.shape) {
        throw Error(ExitCode::failed,
                    "written shard " + path.string() + " does not match the plan at " + spec.name);
      }
    }
  }

  const core::BaseModel& m_base;
  const std::vector<core::Adapter>& m_adapters;
  const core::MergePlan& m_plan;
  MergeStats& m_stats;
  util::Progress* m_progress;
  // Reused across tensors: the float copy of the weight, the delta and the output bytes.
  std::vector<float> m_weight;
  torch::Tensor m_delta = torch::empty({0}, torch::kFloat32);
  std::vector<std::byte> m_bytes;
};

bool is_other_weight_file(const std::string& name)
{
  static const char* k_extensions[] = {".bin", ".pt",      ".pth",  ".ckpt",
                                       ".h5",  ".msgpack", ".gguf", ".safetensors"};
  return std::any_of(std::begin(k_extensions), std::end(k_extensions), [&](const char* ext) {
    const std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  });
}

void write_index(const core::BaseModel& base, const core::MergePlan& plan, const fs::path& out_dir)
{
  nlohmann::json index = base.index();
  std::uint64_t total = 0;
  const std::string last_shard = base.shards().back().path().filename().string();
  for (const auto& shard : plan.shards) {
    for (const auto& tensor : shard) {
      std::uint64_t n = core::dtype_size(tensor.out_dtype);
      for (const auto dim : tensor.out_shape) {
        n *= dim;
      }
      total += n;
      if (tensor.base == nullptr) {
        index["weight_map"][tensor.name] = last_shard;
      }
    }
  }
  index["metadata"]["total_size"] = total;
  util::write_file_atomic(out_dir / "model.safetensors.index.json", index.dump(2) + '\n');
}

void copy_other_files(const core::BaseModel& base, const fs::path& out_dir, MergeStats& stats)
{
  std::set<std::string> weights;
  for (const auto& shard : base.shards()) {
    weights.insert(fs::relative(shard.path(), base.dir()).generic_string());
  }
  weights.insert("model.safetensors.index.json");
  std::vector<core::SourceFile> files;
  for (auto& file : core::scan_tree(base.dir())) {
    if (weights.count(file.relative) != 0) {
      continue;
    }
    if (is_other_weight_file(file.relative)) {
      stats.skipped_weights.push_back(file.relative);
      util::log_warning("not copying " + file.relative + ": another weight file of the base would be stale");
      continue;
    }
    stats.files.push_back(file.relative);
    files.push_back(std::move(file));
  }
  (void)core::copy_tree(files, out_dir, nullptr);
}

} // namespace

namespace {

/// core::ulp_distance over the cores: chunks of a million elements compared in parallel.
core::UlpDistance parallel_ulp_distance(std::span<const std::byte> expected, std::span<const std::byte> actual,
                                        core::DType dtype)
{
  const std::size_t width = core::dtype_size(dtype);
  constexpr std::size_t k_chunk = std::size_t{1} << 20;
  const std::size_t elements = expected.size() / width;
  const std::size_t chunks = (elements + k_chunk - 1) / k_chunk;
  if (chunks <= 1 || expected.size() != actual.size()) {
    return core::ulp_distance(expected, actual, dtype);
  }
  std::vector<core::UlpDistance> parts(chunks);
  util::parallel_for(chunks, util::worker_threads(chunks), [&](std::size_t c) {
    const std::size_t from = c * k_chunk * width;
    const std::size_t bytes = std::min(k_chunk * width, expected.size() - from);
    parts[c] = core::ulp_distance(expected.subspan(from, bytes), actual.subspan(from, bytes), dtype);
    parts[c].at += c * k_chunk;
  });
  core::UlpDistance total;
  for (const auto& part : parts) {
    total.differing += part.differing;
    if (part.max > total.max) {
      total.max = part.max;
      total.at = part.at;
    }
  }
  return total;
}

std::string distance_text(const core::UlpDistance& d, std::uint64_t elements)
{
  const std::string where = " at element " + std::to_string(d.at) + " (" + std::to_string(d.differing) + " of " +
                            std::to_string(elements) + " differ)";
  if (d.max == core::UlpDistance::k_unequal) {
    return "a NaN or an unordered value" + where;
  }
  return "max " + std::to_string(d.max) + " ulp" + where;
}

} // namespace

MergeCheck check_merged(const core::BaseModel& base, const std::vector<core::Adapter>& adapters,
                        const core::MergePlan& plan, const core::BaseModel& merged, std::uint64_t max_ulp,
                        util::Progress* progress)
{
  use_one_core_for_torch();
  torch::NoGradGuard no_grad;
  MergeStats stats;
  ShardWriter maker(base, adapters, plan, stats, nullptr);
  MergeCheck result;
  std::set<std::string> expected;
  for (const auto& shard : plan.shards) {
    for (const auto& tensor : shard) {
      expected.insert(tensor.name);
      const auto [index, info] = merged.find(tensor.name);
      if (info == nullptr) {
        result.differences.push_back({tensor.name, "missing", "not in the merged model", 0});
        continue;
      }
      if (info->dtype != tensor.out_dtype) {
        result.differences.push_back({tensor.name, "dtype",
                                      std::string(core::dtype_name(info->dtype)) + ", expected " +
                                          std::string(core::dtype_name(tensor.out_dtype)) +
                                          " (--dtype chooses what the merge was asked for)",
                                      0});
        continue;
      }
      if (info->shape != tensor.out_shape) {
        result.differences.push_back({tensor.name, "shape",
                                      core::shape_text(info->shape) + ", expected " +
                                          core::shape_text(tensor.out_shape),
                                      0});
        continue;
      }
      const auto& file = merged.shards()[index];
      const auto wanted = maker.produce(tensor);
      const auto found = file.data(*info);
      const core::UlpDistance d = parallel_ulp_distance(wanted, found, tensor.out_dtype);
      file.release(*info);
      maker.done(tensor);
      ++result.tensors;
      result.bytes_compared += found.size();
      if (progress != nullptr) {
        progress->add(found.size());
      }
      if (d.differing == 0) {
        ++result.identical;
        continue;
      }
      if (d.max > result.max_ulp || result.worst_tensor.empty()) {
        result.max_ulp = std::max(result.max_ulp, d.max);
        result.worst_tensor = tensor.name;
        result.worst_element = d.at;
      }
      if (d.max <= max_ulp) {
        ++result.within;
        continue;
      }
      const bool untouched = tensor.untouched();
      result.differences.push_back(
          {tensor.name, untouched ? "untouched" : "values",
           (untouched ? "changed, but no adapter touches it: " : "") +
               distance_text(d, static_cast<std::uint64_t>(info->numel())),
           d.max});
    }
  }
  for (const auto& name : merged.tensor_names()) {
    if (expected.count(name) == 0) {
      result.differences.push_back({name, "extra", "not in the base, nor added by an adapter", 0});
    }
  }
  return result;
}

MergeStats write_merged(const core::BaseModel& base, const std::vector<core::Adapter>& adapters,
                        const core::MergePlan& plan, const fs::path& out_dir, util::Progress* progress)
{
  use_one_core_for_torch();
  torch::NoGradGuard no_grad;
  MergeStats stats;
  util::create_directories(out_dir);
  ShardWriter writer(base, adapters, plan, stats, progress);
  for (std::size_t s = 0; s < plan.shards.size(); ++s) {
    const std::string name = base.shards()[s].path().filename().string();
    util::log_step("writing " + name);
    writer.write(plan.shards[s], s, out_dir / name);
    stats.files.push_back(name);
    util::failpoint("merge.after_shard");
  }
  if (base.sharded()) {
    write_index(base, plan, out_dir);
    stats.files.emplace_back("model.safetensors.index.json");
  }
  if (base.is_directory()) {
    copy_other_files(base, out_dir, stats);
  }
  util::fsync_dir(out_dir);
  return stats;
}

} // namespace modelkeep::consolidate
