#include "commands.hpp"
#include "commands/catalog.hpp"
#include "core/versions/catalog.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string short_version(const json& name)
{
  if (!name.is_string()) {
    return "-";
  }
  const auto text = name.get<std::string>();
  return text.substr(0, text.find('_'));
}

std::string stages_text(const json& stages)
{
  std::string text;
  for (const auto& [stage, version] : stages.items()) {
    text += (text.empty() ? "" : " ") + stage + "=" + short_version(version);
  }
  return text.empty() ? "-" : text;
}

std::string metric_text(const json& metric)
{
  if (!metric.at("value").is_number()) {
    return "-";
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4g", metric.at("value").get<double>());
  return metric.at("name").get<std::string>() + "=" + buffer;
}

void print_catalog(const json& entries)
{
  std::printf("%-32s %-7s %-8s %-24s %8s %10s %-19s %s\n", "MODEL", "LATEST", "ACTIVE", "METRIC", "VERSIONS",
              "SIZE", "LAST CREATED", "STAGES");
  for (const auto& entry : entries) {
    const json& active = entry.at("active");
    const std::string last = entry.at("last_created").is_string()
                                 ? util::readable_utc(entry.at("last_created").get<std::string>())
                                 : "-";
    std::printf("%-32s %-7s %-8s %-24s %8llu %10s %-19s %s\n", entry.at("model").get<std::string>().c_str(),
                short_version(entry.at("latest")).c_str(),
                active.is_object() ? short_version(active.at("version")).c_str() : "-",
                metric_text(entry.at("metric")).c_str(), entry.at("version_count").get<unsigned long long>(),
                util::human_size(entry.at("total_size").get<std::uint64_t>()).c_str(), last.c_str(),
                stages_text(entry.at("stages")).c_str());
  }
}

void run_catalog(const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::catalog(context.root(), true);
  context.emit_data(result.to_json(), [&] {
    if (result.models.empty()) {
      std::cout << "No models in " << result.root << '\n';
    } else {
      print_catalog(result.models);
    }
  });
}

void run_reindex(bool all_models, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::reindex(context.sessions(all_models), context.root());
  context.emit(result.to_json(), [&] {
    for (const auto& path : result.indexes) {
      std::cout << "rebuilt " << path << '\n';
    }
    std::cout << "rebuilt " << result.catalog << '\n';
  });
}

} // namespace

void add_catalog(CLI::App& app, const GlobalOptions& options)
{
  auto* catalog = app.add_subcommand(
      "catalog", "Every model in the root: latest version, the active version (production, else latest) and "
                 "its headline metric, version count, total size, last created, stages. Computed from the "
                 "models' metadata; also repairs the root's catalog.json if it disagrees");
  catalog->callback([&options] { run_catalog(options); });

  auto* reindex = app.add_subcommand(
      "reindex", "Rebuild the model's versions/index.json (the index `list` reads) from every "
                 "metadata.json, then the root's catalog.json from every model's metadata");
  auto all_models = std::make_shared<bool>(false);
  reindex->add_flag("--all-models", *all_models, "Rebuild the index of every model in the root");
  reindex->callback([all_models, &options] { run_reindex(*all_models, options); });
}

} // namespace modelkeep::versioner
