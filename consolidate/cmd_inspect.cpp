#include "commands.hpp"
#include "core/weights/base_model.hpp"
#include "core/weights/lora.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::consolidate {

namespace {

nlohmann::json tensor_json(const core::TensorInfo& t)
{
  return {{"name", t.name}, {"dtype", core::dtype_name(t.dtype)}, {"shape", t.shape}, {"bytes", t.nbytes()}};
}

void print_tensors(const core::SafetensorsFile& file)
{
  std::uint64_t total = 0;
  for (const auto& t : file.tensors()) {
    total += t.nbytes();
  }
  std::printf("%s: %zu tensors, %s\n", file.path().string().c_str(), file.tensors().size(),
              util::human_size(total).c_str());
  for (const auto& [key, value] : file.metadata()) {
    std::printf("  metadata %s = %s\n", key.c_str(), value.c_str());
  }
  for (const auto& t : file.tensors()) {
    std::printf("  %-64s %-5s %s\n", t.name.c_str(), std::string(core::dtype_name(t.dtype)).c_str(),
                core::shape_text(t.shape).c_str());
  }
}

nlohmann::json inspect_adapter(const fs::path& dir, bool print)
{
  const auto adapter = core::Adapter::open(dir);
  const auto& config = adapter.config();
  nlohmann::json doc = {{"kind", "adapter"},
                        {"path", dir.string()},
                        {"peft_type", config.peft_type},
                        {"r", config.r},
                        {"lora_alpha", config.lora_alpha},
                        {"use_rslora", config.use_rslora},
                        {"fan_in_fan_out", config.fan_in_fan_out},
                        {"use_dora", config.use_dora},
                        {"base_model", config.base_model},
                        {"modules", nlohmann::json::array()},
                        {"replacements", nlohmann::json::array()}};
  static const char* k_kinds[] = {"linear", "embedding", "conv"};
  for (const auto& m : adapter.modules()) {
    doc["modules"].push_back({{"module", m.module},
                              {"kind", k_kinds[static_cast<int>(m.kind)]},
                              {"a", m.a->shape},
                              {"b", m.b->shape},
                              {"scaling", m.scaling},
                              {"dora", m.magnitude != nullptr},
                              {"bias", m.bias != nullptr}});
  }
  for (const auto& r : adapter.replacements()) {
    doc["replacements"].push_back({{"tensor", r.tensor->name}, {"target", r.target}});
  }
  if (print) {
    std::printf("adapter %s: %s r=%g alpha=%g%s%s%s, base %s\n", dir.string().c_str(),
                config.peft_type.c_str(), config.r, config.lora_alpha, config.use_rslora ? " rslora" : "",
                config.fan_in_fan_out ? " fan_in_fan_out" : "", config.use_dora ? " dora" : "",
                config.base_model.c_str());
    std::printf("%zu modules, %zu full replacements\n", adapter.modules().size(),
                adapter.replacements().size());
    for (const auto& m : adapter.modules()) {
      std::printf("  %-56s %-9s A%s B%s scale %g\n", m.module.c_str(), k_kinds[static_cast<int>(m.kind)],
                  core::shape_text(m.a->shape).c_str(), core::shape_text(m.b->shape).c_str(), m.scaling);
    }
    for (const auto& r : adapter.replacements()) {
      std::printf("  replaces %s\n", r.target.c_str());
    }
  }
  return doc;
}

void run(const std::string& path_text, const GlobalOptions& options)
{
  const Context context(options);
  const fs::path path = path_text;
  if (util::is_directory(path) && util::exists(path / "adapter_config.json")) {
    const auto doc = inspect_adapter(path, false);
    context.emit(doc, [&] { (void)inspect_adapter(path, true); });
    return;
  }
  const auto model = core::BaseModel::open(path);
  nlohmann::json doc = {{"kind", model.sharded() ? "sharded model" : "model"},
                        {"path", path.string()},
                        {"model_type", model.model_type()},
                        {"files", nlohmann::json::array()}};
  for (const auto& shard : model.shards()) {
    nlohmann::json file = {{"path", shard.path().string()},
                           {"metadata", shard.metadata()},
                           {"tensors", nlohmann::json::array()}};
    for (const auto& t : shard.tensors()) {
      file["tensors"].push_back(tensor_json(t));
    }
    doc["files"].push_back(file);
  }
  context.emit(doc, [&] {
    if (!model.model_type().empty()) {
      std::printf("model_type %s\n", model.model_type().c_str());
    }
    for (const auto& shard : model.shards()) {
      print_tensors(shard);
    }
  });
}

} // namespace

void add_inspect(CLI::App& app, const GlobalOptions& options)
{
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("inspect", "Summarise a safetensors file, a (sharded) model or an adapter");
  cmd->add_option("PATH", *path, "A .safetensors file, a model directory or an adapter directory")
      ->required();
  cmd->callback([path, &options] { run(*path, options); });
}

} // namespace modelkeep::consolidate
