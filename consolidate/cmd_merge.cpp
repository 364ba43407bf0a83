#include "commands.hpp"
#include "operations.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::consolidate {

namespace {

struct MergeArgs {
  MergeInputFlags inputs;
  std::string output;
};

void run(const MergeArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto merged = merge_models({to_inputs(args.inputs), args.output}, context.progress());
  context.emit(merged.to_json(), [&] {
    std::cout << "merged " << util::plural(merged.modules, "module") << " into "
              << util::plural(merged.merged_tensors, "tensor") << " (" << merged.replaced_tensors
              << " replaced, " << merged.added_tensors << " added): " << merged.output.string() << " ("
              << util::human_size(merged.stats.bytes_written) << ")\n";
  });
}

} // namespace

MergeInputs to_inputs(const MergeInputFlags& flags)
{
  return {flags.base,
          {flags.adapters.begin(), flags.adapters.end()},
          flags.weights,
          parse_output_dtype(flags.dtype),
          flags.scale,
          flags.allow_resize,
          core::parse_combination(flags.combination),
          flags.density,
          flags.seed};
}

void add_merge_inputs(CLI::App& cmd, MergeInputFlags& flags, const std::string& dtype_help)
{
  cmd.add_option("--base", flags.base, "Base model: a directory (sharded or not) or a .safetensors file")
      ->required();
  cmd.add_option("--adapter", flags.adapters, "A PEFT LoRA adapter directory (repeatable)")->required();
  cmd.add_option("--weight", flags.weights, "Weight of each adapter's delta, in --adapter order (default 1)");
  cmd.add_option("--dtype", flags.dtype, dtype_help)->check(CLI::IsMember({"keep", "bf16", "fp16", "fp32"}));
  cmd.add_option("--scale", flags.scale, "Multiply every delta by this (default 1)");
  cmd.add_option("--combination", flags.combination,
                 "How several adapters' deltas combine: linear (default, their sum), ties, dare_linear, "
                 "dare_ties, magnitude_prune")
      ->check(CLI::IsMember({"linear", "ties", "dare_linear", "dare_ties", "magnitude_prune"}));
  cmd.add_option("--density", flags.density,
                 "The fraction of each delta the pruning combinations keep, in (0, 1] (default 1)");
  cmd.add_option("--seed", flags.seed, "Seed of the DARE drops (default 0): the same seed, the same merge");
  cmd.add_flag("--allow-resize", flags.allow_resize, "Let a full replacement change a tensor's shape");
}

void add_merge(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge", "Merge adapters into a base model, as PEFT's merge_and_unload() + "
                                          "save_pretrained(), without the store");
  add_merge_inputs(*cmd, args->inputs, "Output dtype of merged tensors: keep (default), bf16, fp16, fp32");
  cmd->add_option("--output", args->output, "New directory for the merged model")->required();
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::consolidate
