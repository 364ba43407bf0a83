#include "commands.hpp"
#include "operations.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::consolidate {

namespace {

void print_tensors(const core::SafetensorsFile& file)
{
  std::uint64_t total = 0;
  for (const auto& t : file.tensors()) {
    total += t.nbytes();
  }
  std::printf("%s: %s, %s\n", file.path().string().c_str(), util::plural(file.tensors().size(), "tensor").c_str(),
              util::human_size(total).c_str());
  for (const auto& [key, value] : file.metadata()) {
    std::printf("  metadata %s = %s\n", key.c_str(), value.c_str());
  }
  for (const auto& t : file.tensors()) {
    std::printf("  %-64s %-5s %s\n", t.name.c_str(), std::string(core::dtype_name(t.dtype)).c_str(),
                core::shape_text(t.shape).c_str());
  }
}

void print_adapter(const fs::path& dir, const core::Adapter& adapter)
{
  const auto& config = adapter.config();
  std::printf("adapter %s: %s r=%g alpha=%g%s%s%s, base %s\n", dir.string().c_str(), config.peft_type.c_str(),
              config.r, config.lora_alpha, config.use_rslora ? " rslora" : "",
              config.fan_in_fan_out ? " fan_in_fan_out" : "", config.use_dora ? " dora" : "",
              config.base_model.c_str());
  std::printf("%s, %s\n", util::plural(adapter.modules().size(), "module").c_str(),
              util::plural(adapter.replacements().size(), "full replacement").c_str());
  for (const auto& m : adapter.modules()) {
    std::printf("  %-56s %-9s A%s B%s scale %g\n", m.module.c_str(), module_kind_name(m),
                core::shape_text(m.a->shape).c_str(), core::shape_text(m.b->shape).c_str(), m.scaling);
  }
  for (const auto& r : adapter.replacements()) {
    std::printf("  replaces %s\n", r.target.c_str());
  }
}

void run(const std::string& path, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = inspect(path);
  context.emit_data(result.to_json(), [&] {
    if (result.adapter) {
      print_adapter(result.path, *result.adapter);
      return;
    }
    if (!result.model->model_type().empty()) {
      std::printf("model_type %s\n", result.model->model_type().c_str());
    }
    for (const auto& shard : result.model->shards()) {
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
