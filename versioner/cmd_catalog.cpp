#include "commands.hpp"
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

/// Rewrites the root's catalog.json when it disagrees with what the metadata says (or is still
/// the registry.json of an older release); a reader that cannot write (a read-only mount, a
/// busy lock) leaves it to the next writer.
void repair_catalog_file(const fs::path& root, const json& entries)
{
  const json file = core::read_catalog_file(root);
  json models = json::object();
  for (const auto& entry : entries) {
    models[entry.at("model").get<std::string>()] = entry;
  }
  const bool current_name = util::exists(core::catalog_path(root));
  if (entries.empty() || (current_name && !file.is_null() && file.at("models") == models)) {
    return;
  }
  try {
    (void)core::rebuild_catalog(root, std::chrono::seconds(2));
    util::log_step("rewrote " + core::catalog_path(root).string() +
                   (current_name ? ": it disagreed with the models' metadata" : " (was registry.json)"));
  } catch (const std::exception& e) {
    util::log_step(core::catalog_path(root).string() + " left as it is: " + e.what());
  }
}

void run_catalog(const GlobalOptions& options)
{
  const Context context(options);
  const fs::path root = context.root();
  const json entries = core::build_catalog(root);
  context.emit({{"root", root.string()}, {"models", entries}}, [&] {
    if (entries.empty()) {
      std::cout << "No models in " << root.string() << '\n';
    } else {
      print_catalog(entries);
    }
  });
  repair_catalog_file(root, entries);
}

void run_reindex(bool all_models, const GlobalOptions& options)
{
  const Context context(options);
  json rebuilt = json::array();
  for (const auto& store : context.stores(all_models)) {
    store.require_exists();
    const auto lock = context.lock(store, "reindex");
    core::refresh_indexes(store, true);
    rebuilt.push_back((store.versions_dir() / core::filenames::list_index).string());
  }
  const fs::path root = context.root();
  (void)core::rebuild_catalog(root, context.lock_timeout());
  const std::string catalog = core::catalog_path(root).string();
  context.emit({{"index", rebuilt}, {"catalog", catalog}}, [&] {
    for (const auto& path : rebuilt) {
      std::cout << "rebuilt " << path.get<std::string>() << '\n';
    }
    std::cout << "rebuilt " << catalog << '\n';
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
