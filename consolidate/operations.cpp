#include "operations.hpp"

#include "core/weights/merge_plan.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

namespace modelkeep::consolidate {

using nlohmann::json;

std::optional<core::DType> parse_output_dtype(const std::string& text)
{
  if (text == "keep") {
    return std::nullopt;
  }
  if (text == "bf16") {
    return core::DType::BF16;
  }
  if (text == "fp16") {
    return core::DType::F16;
  }
  if (text == "fp32") {
    return core::DType::F32;
  }
  throw Error(ExitCode::usage, "invalid --dtype " + text + ": use keep, bf16, fp16 or fp32");
}

// ---- merge ----

json Merged::to_json() const
{
  return {{"output", output.string()},
          {"combination", core::k_combination_names[static_cast<std::size_t>(combination)]},
          {"density", density},
          {"seed", seed},
          {"merged_tensors", merged_tensors},
          {"replaced_tensors", replaced_tensors},
          {"added_tensors", added_tensors},
          {"modules", modules},
          {"max_abs_delta", stats.max_abs_delta},
          {"bytes_written", stats.bytes_written}};
}

namespace {

/// The adapters, opened; Error(usage) unless there is one weight per adapter or none.
std::vector<core::Adapter> open_adapters(const std::vector<fs::path>& dirs, const std::vector<double>& weights)
{
  if (!weights.empty() && weights.size() != dirs.size()) {
    throw Error(ExitCode::usage, "give one --weight per --adapter (or none)");
  }
  std::vector<core::Adapter> adapters;
  for (const auto& dir : dirs) {
    adapters.push_back(core::Adapter::open(dir));
  }
  return adapters;
}

core::MergeOptions merge_options(const MergeInputs& inputs)
{
  return {inputs.weights,     inputs.scale,   inputs.dtype, inputs.allow_resize,
          inputs.combination, inputs.density, inputs.seed};
}

} // namespace

Merged merge_models(const MergeRequest& request, bool show_progress)
{
  if (util::exists_no_follow(request.output)) {
    throw Error(ExitCode::refused, "output exists " + request.output.string() + ": choose a new path");
  }
  const auto adapters = open_adapters(request.inputs.adapters, request.inputs.weights);
  const auto base = core::BaseModel::open(request.inputs.base);
  const auto plan = core::plan_merge(base, adapters, merge_options(request.inputs));
  const fs::path output = fs::absolute(request.output).lexically_normal();
  util::create_directories(output.parent_path());
  util::require_space(output.parent_path(), plan.output_bytes);
  util::TempPath temp(util::temp_path_for(output));
  util::Progress progress("merging", plan.output_bytes, show_progress);
  auto stats = write_merged(base, adapters, plan, temp.path(), &progress);
  progress.finish();
  util::rename_durable(temp.path(), output);
  temp.commit();
  return {output,
          plan.modules.size(),
          plan.merged_tensors,
          plan.replaced_tensors,
          plan.added_tensors,
          std::move(stats),
          request.inputs.combination,
          request.inputs.density,
          request.inputs.seed};
}

// ---- check ----

json Checked::to_json() const
{
  json differences = json::array();
  for (const auto& d : check.differences) {
    differences.push_back({{"tensor", d.tensor}, {"kind", d.kind}, {"detail", d.detail}, {"max_ulp", d.max_ulp}});
  }
  return {{"ok", check.ok()},
          {"merged", merged.string()},
          {"max_ulp_allowed", max_ulp_allowed},
          {"tensors", check.tensors},
          {"identical", check.identical},
          {"within_tolerance", check.within},
          {"max_ulp", check.max_ulp},
          {"worst", check.worst_tensor.empty()
                        ? json(nullptr)
                        : json{{"tensor", check.worst_tensor}, {"element", check.worst_element}}},
          {"bytes_compared", check.bytes_compared},
          {"differences", differences}};
}

void Checked::require_ok() const
{
  if (check.ok()) {
    return;
  }
  const auto& first = check.differences.front();
  throw Error(ExitCode::failed, merged.string() + " is not base + adapters: " +
                                    util::plural(check.differences.size(), "difference") + ", the first " +
                                    first.tensor + ": " + first.detail);
}

Checked check_models(const CheckRequest& request, bool show_progress)
{
  const auto adapters = open_adapters(request.inputs.adapters, request.inputs.weights);
  const auto base = core::BaseModel::open(request.inputs.base);
  const auto merged = core::BaseModel::open(request.merged);
  const auto plan = core::plan_merge(base, adapters, merge_options(request.inputs));
  std::uint64_t total = 0;
  for (const auto& shard : merged.shards()) {
    for (const auto& tensor : shard.tensors()) {
      total += tensor.nbytes();
    }
  }
  util::Progress progress("checking", total, show_progress);
  Checked result{fs::absolute(request.merged).lexically_normal(), request.max_ulp,
                 check_merged(base, adapters, plan, merged, request.max_ulp, &progress)};
  progress.finish();
  return result;
}

// ---- inspect ----

const char* module_kind_name(const core::LoraModule& module)
{
  static const char* k_kinds[] = {"linear", "embedding", "conv"};
  return k_kinds[static_cast<int>(module.kind)];
}

json Inspection::to_json() const
{
  if (adapter) {
    const auto& config = adapter->config();
    json doc = {{"kind", "adapter"},
                {"path", path.string()},
                {"peft_type", config.peft_type},
                {"r", config.r},
                {"lora_alpha", config.lora_alpha},
                {"use_rslora", config.use_rslora},
                {"fan_in_fan_out", config.fan_in_fan_out},
                {"use_dora", config.use_dora},
                {"base_model", config.base_model},
                {"modules", json::array()},
                {"replacements", json::array()}};
    for (const auto& m : adapter->modules()) {
      doc["modules"].push_back({{"module", m.module},
                                {"kind", module_kind_name(m)},
                                {"a", m.a->shape},
                                {"b", m.b->shape},
                                {"scaling", m.scaling},
                                {"dora", m.magnitude != nullptr},
                                {"bias", m.bias != nullptr}});
    }
    for (const auto& r : adapter->replacements()) {
      doc["replacements"].push_back({{"tensor", r.tensor->name}, {"target", r.target}});
    }
    return doc;
  }
  json doc = {{"kind", model->sharded() ? "sharded model" : "model"},
              {"path", path.string()},
              {"model_type", model->model_type()},
              {"files", json::array()}};
  for (const auto& shard : model->shards()) {
    json file = {{"path", shard.path().string()}, {"metadata", shard.metadata()}, {"tensors", json::array()}};
    for (const auto& t : shard.tensors()) {
      file["tensors"].push_back(
          {{"name", t.name}, {"dtype", core::dtype_name(t.dtype)}, {"shape", t.shape}, {"bytes", t.nbytes()}});
    }
    doc["files"].push_back(file);
  }
  return doc;
}

Inspection inspect(const fs::path& path)
{
  Inspection result{path, std::nullopt, std::nullopt};
  if (util::is_directory(path) && util::exists(path / "adapter_config.json")) {
    result.adapter.emplace(core::Adapter::open(path));
  } else {
    result.model.emplace(core::BaseModel::open(path));
  }
  return result;
}

} // namespace modelkeep::consolidate
