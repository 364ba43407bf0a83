#include "core/weights/base_model.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"

#include <map>
#include <set>

namespace modelkeep::core {

using nlohmann::json;

namespace {

struct ModelConfig {
  std::string model_type;
  std::string quantization;
  std::optional<bool> ties_embeddings;
};

/// config.json's model_type, quantization method and tie_word_embeddings (empty when absent).
ModelConfig read_config(const fs::path& dir)
{
  const fs::path config = dir / "config.json";
  const auto found = util::read_json_file_if_exists(config, util::JsonLimit::record, "config.json");
  if (!found) {
    return {};
  }
  const json& doc = *found;
  if (!doc.is_object()) {
    throw Error(ExitCode::malformed, "bad config.json " + config.string() + ": not a JSON object");
  }
  std::string model_type =
      doc.contains("model_type") && doc["model_type"].is_string() ? doc["model_type"].get<std::string>() : "";
  std::string quantization;
  if (const auto q = doc.find("quantization_config"); q != doc.end() && !q->is_null()) {
    quantization = q->is_object() && q->contains("quant_method") && (*q)["quant_method"].is_string()
                       ? (*q)["quant_method"].get<std::string>()
                       : "unknown";
  }
  std::optional<bool> ties;
  if (const auto tie = doc.find("tie_word_embeddings"); tie != doc.end() && tie->is_boolean()) {
    ties = tie->get<bool>();
  }
  return {model_type, quantization, ties};
}

/// Refuses a directory that has only PyTorch pickles: they are not read (code could run).
void refuse_bin_only(const fs::path& dir)
{
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("pytorch_model", 0) == 0 && (name.ends_with(".bin") || name.ends_with(".bin.index.json"))) {
      throw Error(ExitCode::malformed,
                  "only PyTorch .bin weights in " + dir.string() +
                      ": convert them to safetensors first (in Python: model.save_pretrained(DIR, "
                      "safe_serialization=True)); .bin files are pickles and are never read here");
    }
  }
}

std::vector<std::string> shard_names(const json& index, const fs::path& path)
{
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(ExitCode::malformed, "bad shard index " + path.string() + ": no weight_map object");
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw Error(ExitCode::malformed,
                  "bad shard index " + path.string() + ": shard of " + tensor + " is not a string");
    }
    const std::string name = shard.get<std::string>();
    if (name.find('/') != std::string::npos || name == ".." || name.empty()) {
      throw Error(ExitCode::malformed, "bad shard index " + path.string() + ": unsafe shard name " + name);
    }
    if (seen.insert(name).second) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

BaseModel BaseModel::open(const fs::path& path)
{
  BaseModel model;
  if (!util::exists(path)) {
    throw Error(ExitCode::not_found, "base model not found " + path.string());
  }
  if (util::is_regular_file(path)) {
    model.m_dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    model.m_shards.push_back(SafetensorsFile::open(path));
    return model;
  }
  model.m_dir = path;
  model.m_is_directory = true;
  auto config = read_config(path);
  model.m_model_type = std::move(config.model_type);
  model.m_quantization = std::move(config.quantization);
  model.m_ties_embeddings = config.ties_embeddings;
  const fs::path index_path = path / "model.safetensors.index.json";
  if (util::is_regular_file(index_path)) {
    model.m_sharded = true;
    model.m_index = util::read_json_file(index_path, util::JsonLimit::index, "shard index");
    for (const auto& name : shard_names(model.m_index, index_path)) {
      if (!util::is_regular_file(path / name)) {
        throw Error(ExitCode::not_found, "shard named by the index not found " + (path / name).string());
      }
      model.m_shards.push_back(SafetensorsFile::open(path / name));
    }
    // A name in two shards: which one a loader takes is undefined, so the merge would guess.
    std::map<std::string, std::string> seen;
    for (const auto& shard : model.m_shards) {
      const std::string file = shard.path().filename().string();
      for (const auto& tensor : shard.tensors()) {
        if (const auto [it, fresh] = seen.emplace(tensor.name, file); !fresh) {
          throw Error(ExitCode::malformed, "bad sharded model " + path.string() + ": tensor " + tensor.name +
                                               " is in both " + it->second + " and " + file);
        }
      }
    }
    for (const auto& [tensor, shard] : model.m_index["weight_map"].items()) {
      const auto [index, info] = model.find(tensor);
      if (info == nullptr || model.m_shards[index].path().filename() != shard.get<std::string>()) {
        throw Error(ExitCode::malformed, "bad shard index " + index_path.string() + ": tensor " + tensor +
                                             " is not in " + shard.get<std::string>());
      }
    }
    return model;
  }
  if (!util::is_regular_file(path / "model.safetensors")) {
    refuse_bin_only(path);
    throw Error(ExitCode::not_found,
                "no model.safetensors or model.safetensors.index.json in " + path.string());
  }
  model.m_shards.push_back(SafetensorsFile::open(path / "model.safetensors"));
  return model;
}

std::pair<std::size_t, const TensorInfo*> BaseModel::find(const std::string& name) const
{
  for (std::size_t i = 0; i < m_shards.size(); ++i) {
    if (const TensorInfo* info = m_shards[i].find(name)) {
      return {i, info};
    }
  }
  return {static_cast<std::size_t>(-1), nullptr};
}

std::vector<std::string> BaseModel::tensor_names() const
{
  std::vector<std::string> names;
  for (const auto& shard : m_shards) {
    for (const auto& tensor : shard.tensors()) {
      names.push_back(tensor.name);
    }
  }
  return names;
}

} // namespace modelkeep::core
