#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::versioner {

namespace {

void print_field(const char* label, const std::string& value)
{
  std::printf("%-22s %s\n", label, value.empty() ? "-" : value.c_str());
}

void print_metadata(const core::VersionMetadata& meta, bool latest)
{
  print_field("version", meta.name + (latest ? "  (latest)" : ""));
  print_field("id", meta.id);
  print_field("status", meta.status);
  print_field("semver", meta.semver);
  for (const auto& [key, value] : meta.tags) {
    print_field("tag", key + "=" + value);
  }
  print_field("created", meta.created_at);
  print_field("description", meta.description);
  print_field("source", meta.source);
  print_field("base model", meta.base_model);
  print_field("parent", meta.parent_version);
  print_field("steps", meta.steps ? std::to_string(*meta.steps) : "");
  char loss[32] = "";
  if (meta.final_loss) {
    std::snprintf(loss, sizeof loss, "%g", *meta.final_loss);
  }
  print_field("final loss", loss);
  for (const auto& [name, value] : meta.metrics) {
    char text[64];
    std::snprintf(text, sizeof text, "%s = %g", name.c_str(), value);
    print_field("metric", text);
  }
  print_field("evolution snapshots",
              std::to_string(meta.evolution_snapshot_count) +
                  (meta.snapshots_source.empty() ? "" : " from " + meta.snapshots_source));
  print_field("files", std::to_string(meta.manifest.file_count()) + " (" +
                           util::human_size(meta.manifest.total_size()) + ")");
  print_field("manifest digest", meta.manifest.digest());
  print_field("training data hash", meta.training_data_hash);
  print_field("hyperparameters hash", meta.hyperparameters_hash);
  print_field("samples",
              meta.samples
                  ? std::to_string(*meta.samples) +
                        (meta.val_samples ? " (+" + std::to_string(*meta.val_samples) + " validation)" : "")
                  : "");
  print_field("base model digest", meta.base_model_digest);
  print_field("created by", meta.user + "@" + meta.host + " with modelkeep " + meta.tool_version);
  for (const auto& data : meta.training_data) {
    print_field("training data", data.path + " (" + util::human_size(data.size) + ", sha256 " +
                                     data.sha256.substr(0, 16) + "…)");
  }
  std::printf("\nFILES\n");
  for (const auto& file : meta.manifest.files()) {
    std::printf("  %s  %04o %10s  %s\n", file.sha256.substr(0, 16).c_str(), file.mode,
                util::human_size(file.size).c_str(), file.path.c_str());
  }
}

void run(const std::string& ref_text, const GlobalOptions& options)
{
  const Context context(options);
  const auto shown = commands::show_version(context.session(), ref_text);
  context.emit_data(shown.to_json(), [&] { print_metadata(shown.meta, shown.latest); });
}

} // namespace

void add_show(CLI::App& app, const GlobalOptions& options)
{
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("show", "Show everything recorded about one version");
  cmd->add_option("VERSION", *ref, "v3, 3, v003, a version directory name, or latest")->required();
  cmd->callback([ref, &options] { run(*ref, options); });
}

} // namespace modelkeep::versioner
