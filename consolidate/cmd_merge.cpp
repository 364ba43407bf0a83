#include "commands.hpp"
#include "operations.hpp"
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
  std::string combination = "linear";
  double density = 1;
  std::uint64_t seed = 0;
};

void run(const MergeArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  MergeRequest request{args.base,
                       {args.adapters.begin(), args.adapters.end()},
                       args.weights,
                       args.output,
                       parse_output_dtype(args.dtype),
                       args.scale,
                       args.allow_resize,
                       core::parse_combination(args.combination),
                       args.density,
                       args.seed};
  const auto merged = merge_models(request, context.progress());
  context.emit(merged.to_json(), [&] {
    std::cout << "merged " << util::plural(merged.modules, "module") << " into "
              << util::plural(merged.merged_tensors, "tensor") << " (" << merged.replaced_tensors
              << " replaced, " << merged.added_tensors << " added): " << merged.output.string() << " ("
              << util::human_size(merged.stats.bytes_written) << ")\n";
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
  cmd->add_option("--combination", args->combination,
                  "How several adapters' deltas combine: linear (default, their sum), ties, dare_linear, "
                  "dare_ties, magnitude_prune")
      ->check(CLI::IsMember({"linear", "ties", "dare_linear", "dare_ties", "magnitude_prune"}));
  cmd->add_option("--density", args->density,
                  "The fraction of each delta the pruning combinations keep, in (0, 1] (default 1)");
  cmd->add_option("--seed", args->seed, "Seed of the DARE drops (default 0): the same seed, the same merge");
  cmd->add_flag("--allow-resize", args->allow_resize, "Let a full replacement change a tensor's shape");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::consolidate
