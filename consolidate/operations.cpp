#include "operations.hpp"

#include "core/weights/merge_plan.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"

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
          {"merged_tensors", merged_tensors},
          {"replaced_tensors", replaced_tensors},
          {"added_tensors", added_tensors},
          {"modules", modules},
          {"max_abs_delta", stats.max_abs_delta},
          {"bytes_written", stats.bytes_written}};
}

Merged merge_models(const MergeRequest& request, bool show_progress)
{
  if (util::exists_no_follow(request.output)) {
    throw Error(ExitCode::refused, "output exists " + request.output.string() + ": choose a new path");
  }
  if (!request.weights.empty() && request.weights.size() != request.adapters.size()) {
    throw Error(ExitCode::usage, "give one --weight per --adapter (or none)");
  }
  const auto base = core::BaseModel::open(request.base);
  std::vector<core::Adapter> adapters;
  for (const auto& dir : request.adapters) {
    adapters.push_back(core::Adapter::open(dir));
  }
  core::MergeOptions merge_options{request.weights, request.scale, std::nullopt, request.allow_resize};
  merge_options.dtype = request.dtype;
  const auto plan = core::plan_merge(base, adapters, merge_options);
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
          std::move(stats)};
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
