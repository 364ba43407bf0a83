#include "commands.hpp"
#include "core/versions/version.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <memory>
#include <set>

namespace modelkeep::versioner {

namespace {

/// What changed from `parent` to `child`, in words.
std::vector<std::string> changes(const core::VersionMetadata& parent, const core::VersionMetadata& child)
{
  std::vector<std::string> out;
  if (child.training_data_hash != parent.training_data_hash) {
    out.push_back("training data changed");
  }
  if (child.hyperparameters_hash != parent.hyperparameters_hash) {
    std::string keys;
    if (child.hyperparameters.is_object() && parent.hyperparameters.is_object()) {
      std::set<std::string> all;
      for (const auto& [key, value] : child.hyperparameters.items()) {
        all.insert(key);
      }
      for (const auto& [key, value] : parent.hyperparameters.items()) {
        all.insert(key);
      }
      for (const auto& key : all) {
        if (child.hyperparameters.value(key, nlohmann::json()) !=
            parent.hyperparameters.value(key, nlohmann::json())) {
          keys += (keys.empty() ? "" : ", ") + key + " " +
                  parent.hyperparameters.value(key, nlohmann::json()).dump() + " -> " +
                  child.hyperparameters.value(key, nlohmann::json()).dump();
        }
      }
    }
    out.push_back("hyperparameters changed" + (keys.empty() ? std::string() : ": " + keys));
  }
  if (child.base_model != parent.base_model || child.base_model_digest != parent.base_model_digest) {
    out.push_back("base model " + (parent.base_model.empty() ? "-" : parent.base_model) + " -> " +
                  (child.base_model.empty() ? "-" : child.base_model));
  }
  if (child.manifest.digest() == parent.manifest.digest()) {
    out.emplace_back("same adapter content");
  }
  return out;
}

void run(const std::string& ref_text, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  store.require_exists();
  auto version = core::resolve_version(store, core::VersionRef::parse(ref_text));
  std::vector<core::VersionMetadata> chain{core::load_metadata(version.path)};
  std::set<std::string> seen{chain.back().name};
  while (!chain.back().parent_version.empty()) {
    const std::string parent = chain.back().parent_version;
    if (!seen.insert(parent).second) {
      throw Error(ExitCode::malformed, "lineage of " + ref_text + " loops at " + parent);
    }
    const std::filesystem::path dir = store.versions_dir() / parent;
    if (!std::filesystem::is_directory(dir)) {
      chain.push_back({});
      chain.back().name = parent + " (deleted)";
      break;
    }
    chain.push_back(core::load_metadata(dir));
  }
  nlohmann::json doc = {{"chain", nlohmann::json::array()}};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    nlohmann::json item = {{"name", chain[i].name}, {"description", chain[i].description}};
    if (i + 1 < chain.size() && !chain[i + 1].id.empty()) {
      item["changes"] = changes(chain[i + 1], chain[i]);
    }
    doc["chain"].push_back(item);
  }
  context.emit(doc, [&] {
    for (std::size_t i = 0; i < chain.size(); ++i) {
      std::printf("%s%s  %s\n", i == 0 ? "" : "<- ", chain[i].name.c_str(), chain[i].description.c_str());
      if (i + 1 < chain.size() && !chain[i + 1].id.empty()) {
        for (const auto& change : changes(chain[i + 1], chain[i])) {
          std::printf("     %s\n", change.c_str());
        }
      }
    }
  });
}

} // namespace

void add_lineage(CLI::App& app, const GlobalOptions& options)
{
  auto ref = std::make_shared<std::string>();
  auto* cmd =
      app.add_subcommand("lineage", "The chain of parents back to the root, with what changed at each step");
  cmd->add_option("VERSION", *ref, "The version")->required();
  cmd->callback([ref, &options] { run(*ref, options); });
}

} // namespace modelkeep::versioner
