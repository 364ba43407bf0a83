#include "commands.hpp"
#include "util/error.hpp"
#include "operations.hpp"
#include "workflow.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::consolidate {

namespace {

struct ConsolidateArgs {
  std::string base_dir;
  std::string description;
  std::vector<std::string> training_data;
  std::optional<std::uint64_t> steps;
  std::optional<double> loss;
  std::optional<std::string> adapter_dir;
  std::optional<std::string> base_model;
  std::string dtype = "keep";
  bool allow_remerge = false;
  bool keep_adapter = false;
  bool dry_run = false;
};

void run(const ConsolidateArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  if (args.base_dir.empty()) {
    throw Error(ExitCode::usage, "give --base-dir DIR (or a subcommand: merge, inspect); see --help");
  }
  if (args.description.empty() && !args.dry_run) {
    throw Error(ExitCode::usage, "--description is required: say what this training run did");
  }
  ConsolidateRequest request;
  request.base_dir = args.base_dir;
  request.description = args.description;
  request.training_data.assign(args.training_data.begin(), args.training_data.end());
  request.steps = args.steps;
  request.loss = args.loss;
  request.adapter_dir = args.adapter_dir;
  request.base_model = args.base_model;
  request.root = options.root;
  request.model = options.model;
  request.dtype = parse_output_dtype(args.dtype);
  request.keep_adapter = args.keep_adapter;
  request.allow_remerge = args.allow_remerge;
  request.dry_run = args.dry_run;
  request.show_progress = context.progress();
  request.lock_timeout_seconds = options.lock_timeout_seconds;
  request.tool_version = app::tool_version();
  const auto result = run_consolidation(request, [&](const std::string& line) {
    if (!options.json && !options.quiet) {
      std::cout << line << '\n' << std::flush;
    }
  });
  context.emit(result.to_json(), [] {});
  if (!result.dry_run) {
    context.print_result(result.output);
  }
}

} // namespace

void add_consolidate(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<ConsolidateArgs>();
  app.require_subcommand(0, 1);
  app.add_option("--base-dir", args->base_dir,
                 "Training directory: holds modelkeep.json and the adapter directory");
  app.add_option("--description", args->description, "What this training run did (recorded in the version)");
  app.add_option("--training-data", args->training_data, "Training data files (recorded with their SHA-256)");
  app.add_option("--steps", args->steps, "Training steps")->check(CLI::NonNegativeNumber);
  app.add_option("--loss", args->loss, "Final loss");
  app.add_option("--adapter-dir", args->adapter_dir,
                 "Adapter directory name in DIR (default: current_model)");
  app.add_option("--base-model", args->base_model, "Base model directory (kept in modelkeep.json)");
  app.add_option("--dtype", args->dtype, "Output dtype of merged tensors: keep (default), bf16, fp16, fp32")
      ->check(CLI::IsMember({"keep", "bf16", "fp16", "fp32"}));
  app.add_flag("--keep-adapter", args->keep_adapter, "Do not delete the adapter at the end");
  app.add_flag("--allow-remerge", args->allow_remerge,
               "Merge an adapter that the base model already contains (its consolidation history says "
               "so): its delta is then applied twice");
  app.add_flag("--dry-run", args->dry_run,
               "Print the plan (modules, scales, bytes, free space); write nothing");
  app.callback([args, &options, &app] {
    if (app.get_subcommands().empty()) {
      run(*args, options);
    }
  });
}

} // namespace modelkeep::consolidate
