#include "core/layout/settings.hpp"

#include "core/layout/store.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

namespace modelkeep::core {

using nlohmann::json;

std::optional<Setting> setting(const Store& store, const std::string& key)
{
  std::vector<fs::path> files;
  if (!store.is_default_model()) {
    files.push_back(store.state_dir() / filenames::config);
  }
  files.push_back(store.root_state_dir() / filenames::config);
  for (const auto& file : files) {
    const auto doc = read_store_config(file);
    if (doc && doc->contains(key)) {
      return Setting{(*doc)[key], file};
    }
  }
  return std::nullopt;
}

AutoPromoteRule load_auto_promote_rule(const Store& store)
{
  AutoPromoteRule rule;
  const json doc = store.config();
  if (doc.contains("auto_promote") && doc["auto_promote"].is_object()) {
    const json& section = doc["auto_promote"];
    try {
      rule.metric = section.value("metric", rule.metric);
      rule.high_threshold = section.value("high_threshold", rule.high_threshold);
      rule.min_improvement = section.value("min_improvement", rule.min_improvement);
    } catch (const json::exception&) {
      throw Error(ExitCode::malformed, "bad store config: \"auto_promote\" needs a string metric and numbers "
                                       "for high_threshold and min_improvement");
    }
  }
  return rule;
}

} // namespace modelkeep::core
