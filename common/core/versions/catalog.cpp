#include "core/versions/catalog.hpp"

#include "core/layout/settings.hpp"
#include "core/versions/list_index.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/lockfile.hpp"
#include "util/log.hpp"

namespace modelkeep::core {

using nlohmann::json;

namespace {

constexpr int k_schema_version = 1;
constexpr std::chrono::seconds k_update_timeout{30};

fs::path catalog_state_dir(const fs::path& root)
{
  // Its own directory: the default model's writers clean temporaries in root/.modelkeep/
  // under their lock, which does not cover the catalog's.
  return root / filenames::state / filenames::catalog_state;
}

std::string relative_to_root(const Store& store, const fs::path& path)
{
  return path.lexically_relative(store.root()).generic_string();
}

json version_summary(const json& index, const std::string& name)
{
  const auto& versions = index.at("versions");
  const auto it = versions.find(name);
  return it != versions.end() && it->is_object() ? it->value("summary", json::object()) : json::object();
}

/// Holds the catalog lock, cleans what a killed update left, and writes the file.
class CatalogWriter {
public:
  CatalogWriter(const fs::path& root, std::chrono::milliseconds timeout)
      : m_root(root), m_dir(catalog_state_dir(root)), m_lock(acquire(m_dir, timeout))
  {
    std::error_code ec;
    for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (util::is_temp_name(it->path().filename().string())) {
        util::remove_all(it->path());
      }
    }
  }

  void write(const json& models) const
  {
    const json doc = {
        {"schema_version", k_schema_version}, {"updated_at", util::utc_now_iso8601()}, {"models", models}};
    util::write_file_atomic(m_root / filenames::catalog, doc.dump(2) + '\n', 0644, m_dir);
    // The catalog of a release before 0.2, now stale; the new one is durable, so it can go.
    util::remove_all(m_root / filenames::legacy_catalog);
  }

private:
  static util::LockFile acquire(const fs::path& dir, std::chrono::milliseconds timeout)
  {
    util::create_directories(dir);
    return util::LockFile::acquire(dir / filenames::lock, "catalog update", timeout);
  }

  fs::path m_root;
  fs::path m_dir;
  util::LockFile m_lock;
};

json models_by_name(const json& entries)
{
  json models = json::object();
  for (const auto& entry : entries) {
    models[entry.at("model").get<std::string>()] = entry;
  }
  return models;
}

} // namespace

json catalog_entry(const Store& store, const json& index)
{
  json entry = {{"model", store.model()},
                {"path", store.is_default_model() ? std::string(".") : store.model()},
                {"latest", index.value("latest", json(nullptr))},
                {"stages", index.value("stages", json::object())}};
  std::uint64_t total_size = 0;
  std::string last_created;
  for (const auto& [name, item] : index.at("versions").items()) {
    const json summary = item.value("summary", json::object());
    total_size += summary.value("total_size", std::uint64_t{0});
    last_created = std::max(last_created, summary.value("created_at", std::string()));
  }
  entry["version_count"] = index.at("versions").size();
  entry["total_size"] = total_size;
  entry["last_created"] = last_created.empty() ? json(nullptr) : json(last_created);

  std::string metric_name = AutoPromoteRule().metric;
  try {
    metric_name = load_auto_promote_rule(store).metric;
  } catch (const Error&) {
    // A damaged config is reported by the commands that act on it; the catalog still lists.
  }
  entry["active"] = nullptr;
  entry["metric"] = {{"name", metric_name}, {"value", nullptr}};
  entry["samples"] = nullptr;
  const auto& stages = entry["stages"];
  std::string active_stage = "production";
  if (!stages.contains(active_stage) || !stages[active_stage].is_string()) {
    active_stage = "latest";
  }
  const json active = active_stage == "latest" ? entry["latest"] : stages[active_stage];
  if (active.is_string()) {
    const auto version = active.get<std::string>();
    entry["active"] = {{"stage", active_stage},
                       {"version", version},
                       {"path", relative_to_root(store, store.version_path(version) / filenames::adapter)}};
    const json metrics = version_summary(index, version).value("metrics", json::object());
    if (metrics.contains(metric_name)) {
      entry["metric"]["value"] = metrics[metric_name];
    }
    if (metrics.contains("samples")) {
      entry["samples"] = metrics["samples"];
    }
  }
  return entry;
}

json build_catalog(const fs::path& root)
{
  json entries = json::array();
  for (const auto& model : discover_models(root)) {
    const Store store(root, model);
    entries.push_back(catalog_entry(store, build_index(store)));
  }
  return entries;
}

fs::path catalog_path(const fs::path& root)
{
  return root / filenames::catalog;
}

json read_catalog_file(const fs::path& root)
{
  for (const auto name : {filenames::catalog, filenames::legacy_catalog}) {
    try {
      const auto text = util::read_file_if_exists(root / name, util::bytes(util::JsonLimit::index));
      if (!text) {
        continue;
      }
      json doc = json::parse(*text, nullptr, false);
      if (doc.is_object() && doc.value("schema_version", 0) == k_schema_version && doc.contains("models") &&
          doc["models"].is_object()) {
        return doc;
      }
    } catch (const Error&) {
    } catch (const json::exception&) {
    }
    break;
  }
  return nullptr;
}

json rebuild_catalog(const fs::path& root, std::chrono::milliseconds timeout)
{
  const CatalogWriter writer(root, timeout);
  json entries = build_catalog(root);
  writer.write(models_by_name(entries));
  return entries;
}

void update_catalog(const Store& store, const json& index) noexcept
{
  try {
    const CatalogWriter writer(store.root(), k_update_timeout);
    json doc = read_catalog_file(store.root());
    if (doc.is_null()) {
      util::log_step("rebuilding " + catalog_path(store.root()).string() + " from the models' metadata");
      writer.write(models_by_name(build_catalog(store.root())));
      return;
    }
    json models = json::object();
    for (const auto& [name, entry] : doc["models"].items()) {
      if (name != store.model() && util::is_directory(Store(store.root(), name).versions_dir())) {
        models[name] = entry;
      }
    }
    models[store.model()] = catalog_entry(store, index);
    writer.write(models);
  } catch (const std::exception& e) {
    util::log_warning("the catalog " + catalog_path(store.root()).string() + " was not updated (" + e.what() +
                      "); `model-versioner reindex` rebuilds it");
  }
}

} // namespace modelkeep::core
