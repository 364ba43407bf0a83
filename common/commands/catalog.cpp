#include "commands/catalog.hpp"

#include "core/layout/filenames.hpp"
#include "core/versions/catalog.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace modelkeep::commands {

using nlohmann::json;

namespace {

void repair_catalog_file(const std::filesystem::path& root, const json& entries)
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

} // namespace

Catalog catalog(const std::filesystem::path& root, bool repair_file)
{
  Catalog result{root.string(), core::build_catalog(root)};
  if (repair_file) {
    repair_catalog_file(root, result.models);
  }
  return result;
}

Reindexed reindex(const std::vector<Session>& sessions, const std::filesystem::path& root)
{
  Reindexed result;
  std::chrono::milliseconds timeout{30000};
  for (const auto& session : sessions) {
    const auto lock = session.lock("reindex");
    // Each model's index only: the catalog is rebuilt once below (refreshing it per model
    // rewrote the whole catalog for each, quadratic in the number of models).
    core::write_index(session.store, core::build_index(session.store, true));
    result.indexes.push_back((session.store.versions_dir() / core::filenames::list_index).string());
    timeout = session.lock_timeout;
  }
  (void)core::rebuild_catalog(root, timeout);
  result.catalog = core::catalog_path(root).string();
  return result;
}

} // namespace modelkeep::commands
