#include "commands.hpp"
#include "core/weights/merge_plan.hpp"
#include "merger.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::consolidate {

namespace {

struct MergeArgs {
  std::string base;
  std::vector<std::string> adapters;
  std::vector<double> weights;
  std::string output;
  std::string dtype = "keep";
  double scale = 1;
  bool allow_resize = false;
};

void run(const MergeArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  if (util::exists_no_follow(args.output)) {
    throw Error(ExitCode::refused, "output exists " + args.output + ": choose a new path");
  }
  if (!args.weights.empty() && args.weights.size() != args.adapters.size()) {
    throw Error(ExitCode::usage, "give one --weight per --adapter (or none)");
  }
  const auto base = core::BaseModel::open(args.base);
  std::vector<core::Adapter> adapters;
  for (const auto& dir : args.adapters) {
    adapters.push_back(core::Adapter::open(dir));
  }
  core::MergeOptions merge_options{args.weights, args.scale, std::nullopt, args.allow_resize};
  merge_options.dtype = parse_output_dtype(args.dtype);
  const auto plan = core::plan_merge(base, adapters, merge_options);
  const fs::path output = fs::absolute(args.output).lexically_normal();
  util::create_directories(output.parent_path());
  util::require_space(output.parent_path(), plan.output_bytes);
  util::TempPath temp(util::temp_path_for(output));
  util::Progress progress("merging", plan.output_bytes, context.progress());
  const auto stats = write_merged(base, adapters, plan, temp.path(), &progress);
  progress.finish();
  util::rename_durable(temp.path(), output);
  temp.commit();
  const nlohmann::json doc = {{"output", output.string()},
                              {"merged_tensors", plan.merged_tensors},
                              {"replaced_tensors", plan.replaced_tensors},
                              {"added_tensors", plan.added_tensors},
                              {"modules", plan.modules.size()},
                              {"max_abs_delta", stats.max_abs_delta},
                              {"bytes_written", stats.bytes_written}};
  context.emit(doc, [&] {
    std::cout << "merged " << plan.modules.size() << " modules into " << plan.merged_tensors << " tensors ("
              << plan.replaced_tensors << " replaced, " << plan.added_tensors
              << " added): " << output.string() << " (" << util::human_size(stats.bytes_written) << ")\n";
  });
}

} // namespace

void add_merge(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge", "Merge adapters into a base model, as PEFT's merge_and_unload() + "
                                          "save_pretrained(), without the store");
  cmd->add_option("--base", args->base, "Base model: a directory (sharded or not) or a .safetensors file")
      ->required();
  cmd->add_option("--adapter", args->adapters, "A PEFT LoRA adapter directory (repeatable)")->required();
  cmd->add_option("--weight", args->weights,
                  "Weight of each adapter's delta, in --adapter order (default 1)");
  cmd->add_option("--output", args->output, "New directory for the merged model")->required();
  cmd->add_option("--dtype", args->dtype, "Output dtype of merged tensors: keep (default), bf16, fp16, fp32")
      ->check(CLI::IsMember({"keep", "bf16", "fp16", "fp32"}));
  cmd->add_option("--scale", args->scale, "Multiply every delta by this (default 1)");
  cmd->add_flag("--allow-resize", args->allow_resize, "Let a full replacement change a tensor's shape");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::consolidate
