#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <cmath>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct CreateArgs {
  std::string adapter;
  std::string description;
  std::vector<std::string> data;
  std::optional<std::uint64_t> steps;
  std::optional<double> loss;
  std::vector<std::string> metrics;
  std::optional<std::string> snapshots;
  std::string base_model;
  std::optional<std::string> parent;
  bool allow_duplicate = false;
  std::optional<std::string> semver;
  std::optional<std::string> bump;
  std::optional<std::string> hyperparams;
  std::optional<std::uint64_t> samples;
  std::optional<std::uint64_t> val_samples;
  std::optional<double> training_seconds;
  std::optional<std::string> link;
};

std::map<std::string, double> parse_metrics(const std::vector<std::string>& items)
{
  std::map<std::string, double> metrics;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const bool name_ok =
        eq != std::string::npos && !name.empty() &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
            std::string::npos;
    double value = 0;
    std::size_t used = 0;
    bool value_ok = false;
    if (name_ok) {
      try {
        value = std::stod(item.substr(eq + 1), &used);
        value_ok = used == item.size() - eq - 1 && std::isfinite(value);
      } catch (const std::exception&) {
        value_ok = false;
      }
    }
    if (!name_ok || !value_ok) {
      throw Error(ExitCode::usage, "invalid --metric '" + item + "': use NAME=NUMBER, e.g. f1_score=0.91");
    }
    metrics[name] = value;
  }
  return metrics;
}

core::CreateRequest to_request(const CreateArgs& args)
{
  core::CreateRequest request;
  request.adapter = args.adapter;
  request.description = args.description;
  request.data_files.assign(args.data.begin(), args.data.end());
  request.steps = args.steps;
  if (args.loss && !std::isfinite(*args.loss)) {
    throw Error(ExitCode::usage, "invalid --loss: must be a finite number");
  }
  request.final_loss = args.loss;
  request.metrics = parse_metrics(args.metrics);
  if (args.snapshots) {
    request.snapshots = *args.snapshots;
  }
  request.base_model = args.base_model;
  if (args.parent) {
    request.parent = core::VersionRef::parse(*args.parent);
  }
  request.allow_duplicate = args.allow_duplicate;
  request.semver = args.semver;
  request.bump = args.bump;
  if (args.hyperparams) {
    request.hyperparams = *args.hyperparams;
  }
  request.samples = args.samples;
  request.val_samples = args.val_samples;
  request.training_seconds = args.training_seconds;
  if (args.link) {
    request.link = core::parse_link_mode(*args.link);
  }
  return request;
}

void run(const CreateArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::CreateRequest request = to_request(args);
  const auto created = commands::create_version(context.new_session(), request, tool_version());
  const auto& meta = created.meta;
  context.print_result(meta.id);
  context.note("created " + meta.name + " (" + util::plural(meta.manifest.file_count(), "file") + ", " +
               util::human_size(meta.manifest.total_size()) + "; " +
               std::to_string(created.stats.files_stored) + " stored, " +
               std::to_string(created.stats.files_linked) + " unchanged and linked)");
  context.emit(created.to_json(), [] {});
}

} // namespace

void add_create(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<CreateArgs>();
  auto* cmd = app.add_subcommand("create", "Snapshot an adapter directory as a new version; prints its id");
  cmd->add_option("--adapter", args->adapter, "Adapter (or checkpoint) directory to snapshot")->required();
  cmd->add_option("--description", args->description, "What this training run was")->required();
  cmd->add_option("--data", args->data,
                  "Training data file used (recorded with size and SHA-256, not copied)");
  cmd->add_option("--steps", args->steps, "Total training steps")->check(CLI::NonNegativeNumber);
  cmd->add_option("--loss", args->loss, "Final training loss");
  cmd->add_option("--metric", args->metrics, "A metric as NAME=VALUE (repeatable)");
  cmd->add_option("--snapshots", args->snapshots,
                  "Directory of evolution snapshots to keep with the version");
  cmd->add_option("--base-model", args->base_model,
                  "Base model id (default: base_model_name_or_path from adapter_config.json)");
  cmd->add_option("--parent", args->parent, "Parent version (default: the newest version)");
  cmd->add_flag("--allow-duplicate", args->allow_duplicate,
                "Keep a version even if identical to the newest one");
  cmd->add_option("--semver", args->semver, "Semantic version X.Y.Z[-pre][+build] (must be unused)");
  cmd->add_option("--bump", args->bump,
                  "major, minor or patch: the next semantic version after the highest one")
      ->check(CLI::IsMember({"major", "minor", "patch"}));
  cmd->add_option("--hyperparams", args->hyperparams,
                  "JSON file of hyperparameters (recorded, with its hash)");
  cmd->add_option("--samples", args->samples, "Training samples")->check(CLI::NonNegativeNumber);
  cmd->add_option("--val-samples", args->val_samples, "Validation samples")->check(CLI::NonNegativeNumber);
  cmd->add_option("--link", args->link,
                  "How files share storage with earlier versions: auto (reflink, else hardlink, else copy; "
                  "the default, or \"link\" in .modelkeep/config.json), reflink, hardlink or copy")
      ->check(CLI::IsMember({"auto", "reflink", "hardlink", "copy"}));
  cmd->add_option("--training-seconds", args->training_seconds, "How long the training took")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
