#include "core/weights/lora.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

namespace modelkeep::core {

using ordered_json = nlohmann::ordered_json;

namespace {

[[noreturn]] void bad_adapter(const fs::path& path, const std::string& cause)
{
  throw Error(ExitCode::malformed, "bad adapter " + path.string() + ": " + cause);
}

double number(const ordered_json& doc, const char* key, double fallback, const fs::path& path)
{
  if (!doc.contains(key) || doc[key].is_null()) {
    return fallback;
  }
  if (!doc[key].is_number()) {
    bad_adapter(path, std::string(key) + " is not a number");
  }
  return doc[key].get<double>();
}

bool flag(const ordered_json& doc, const char* key, const fs::path& path)
{
  if (!doc.contains(key) || doc[key].is_null()) {
    return false;
  }
  if (!doc[key].is_boolean()) {
    bad_adapter(path, std::string(key) + " is not true or false");
  }
  return doc[key].get<bool>();
}

std::vector<std::pair<std::string, double>> patterns(const ordered_json& doc, const char* key,
                                                     const fs::path& path)
{
  std::vector<std::pair<std::string, double>> result;
  if (!doc.contains(key) || doc[key].is_null()) {
    return result;
  }
  if (!doc[key].is_object()) {
    bad_adapter(path, std::string(key) + " is not an object");
  }
  for (const auto& [pattern, value] : doc[key].items()) {
    if (!value.is_number()) {
      bad_adapter(path, std::string(key) + " value for " + pattern + " is not a number");
    }
    result.emplace_back(pattern, value.get<double>());
  }
  return result;
}

bool pattern_matches(const std::string& pattern, const std::string& module)
{
  try {
    return std::regex_match(module, std::regex("(.*\\.)?(" + pattern + ")"));
  } catch (const std::regex_error&) {
    throw Error(ExitCode::malformed, "bad adapter config: invalid pattern " + pattern);
  }
}

bool ends_with(const std::string& text, const std::string& suffix)
{
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

LoraConfig LoraConfig::load(const fs::path& path)
{
  try {
    return load_fields(path);
  } catch (const ordered_json::exception& error) { // a field of the wrong type
    bad_adapter(path, error.what());
  }
}

LoraConfig LoraConfig::load_fields(const fs::path& path)
{
  ordered_json doc;
  try {
    // Ordered: the keys are shown as the adapter wrote them.
    doc = ordered_json::parse(util::read_file(path, util::bytes(util::JsonLimit::record)));
  } catch (const ordered_json::exception& error) { // parse_error, or out_of_range for a number too large
    bad_adapter(path, error.what());
  }
  if (!doc.is_object()) {
    bad_adapter(path, "not a JSON object");
  }
  LoraConfig config;
  config.peft_type = doc.value("peft_type", std::string());
  if (config.peft_type != "LORA") {
    bad_adapter(path, "peft_type " +
                          (config.peft_type.empty() ? std::string("(missing)") : config.peft_type) +
                          " is not supported; only LORA adapters can be merged");
  }
  config.r = number(doc, "r", 8, path);
  config.lora_alpha = number(doc, "lora_alpha", 8, path);
  if (config.r <= 0) {
    bad_adapter(path, "r must be positive");
  }
  config.use_rslora = flag(doc, "use_rslora", path);
  config.fan_in_fan_out = flag(doc, "fan_in_fan_out", path);
  config.use_dora = flag(doc, "use_dora", path);
  config.lora_bias = flag(doc, "lora_bias", path);
  config.rank_pattern = patterns(doc, "rank_pattern", path);
  config.alpha_pattern = patterns(doc, "alpha_pattern", path);
  if (doc.contains("base_model_name_or_path") && doc["base_model_name_or_path"].is_string()) {
    config.base_model = doc["base_model_name_or_path"].get<std::string>();
  }
  return config;
}

std::pair<double, double> LoraConfig::rank_alpha(const std::string& module) const
{
  double rank = r;
  double alpha = lora_alpha;
  for (const auto& [pattern, value] : rank_pattern) {
    if (pattern_matches(pattern, module)) {
      rank = value;
      break;
    }
  }
  for (const auto& [pattern, value] : alpha_pattern) {
    if (pattern_matches(pattern, module)) {
      alpha = value;
      break;
    }
  }
  return {rank, alpha};
}

double LoraConfig::scaling(const std::string& module) const
{
  const auto [rank, alpha] = rank_alpha(module);
  return use_rslora ? alpha / std::sqrt(rank) : alpha / rank;
}

Adapter Adapter::open(const fs::path& dir)
{
  const fs::path config_path = dir / "adapter_config.json";
  const fs::path weights_path = dir / "adapter_model.safetensors";
  if (!util::is_directory(dir)) {
    throw Error(ExitCode::not_found, "adapter directory not found " + dir.string());
  }
  if (!util::is_regular_file(config_path)) {
    throw Error(ExitCode::malformed, "bad adapter " + dir.string() + ": no adapter_config.json");
  }
  if (!util::is_regular_file(weights_path)) {
    if (util::is_regular_file(dir / "adapter_model.bin")) {
      throw Error(
          ExitCode::malformed,
          "bad adapter " + dir.string() +
              ": only adapter_model.bin (a pickle) is there; convert it to "
              "safetensors first, e.g. in Python: PeftModel.from_pretrained(base, dir).save_pretrained(dir, "
              "safe_serialization=True)");
    }
    throw Error(ExitCode::malformed, "bad adapter " + dir.string() + ": no adapter_model.safetensors");
  }
  Adapter adapter(dir, LoraConfig::load(config_path), SafetensorsFile::open(weights_path));
  adapter.classify();
  return adapter;
}

void Adapter::classify()
{
  static const std::string k_prefix = "base_model.model.";
  struct Suffix {
    const char* text;
    int slot; // 0 A, 1 B, 2 magnitude, 3 bias, 4 embedding A, 5 embedding B
  };
  static const Suffix k_suffixes[] = {
      {".lora_A.weight", 0},         {".lora_B.weight", 1}, {".lora_magnitude_vector.weight", 2},
      {".lora_magnitude_vector", 2}, {".lora_B.bias", 3},   {".lora_embedding_A", 4},
      {".lora_embedding_B", 5},
  };
  std::map<std::string, LoraModule> modules;
  for (const auto& tensor : m_file.tensors()) {
    if (tensor.name.rfind(k_prefix, 0) != 0) {
      bad_adapter(m_file.path(), "key " + tensor.name + " does not start with " + k_prefix);
    }
    const std::string key = tensor.name.substr(k_prefix.size());
    if (key.find("lora_") != std::string::npos) {
      const Suffix* match = nullptr;
      for (const auto& suffix : k_suffixes) {
        if (ends_with(key, suffix.text)) {
          match = &suffix;
          break;
        }
      }
      if (match == nullptr) {
        bad_adapter(m_file.path(), "key " + tensor.name + " is not a LoRA tensor this merger understands");
      }
      const std::string name = key.substr(0, key.size() - std::string(match->text).size());
      LoraModule& module = modules[name];
      module.module = name;
      const TensorInfo* info = &tensor;
      switch (match->slot) {
      case 0:
        module.a = info;
        break;
      case 1:
        module.b = info;
        break;
      case 2:
        module.magnitude = info;
        break;
      case 3:
        module.bias = info;
        break;
      case 4:
        module.a = info;
        module.kind = LoraKind::embedding;
        break;
      case 5:
        module.b = info;
        module.kind = LoraKind::embedding;
        break;
      default:
        break;
      }
      continue;
    }
    const std::string target =
        ends_with(key, ".base_layer.weight")
            ? key.substr(0, key.size() - std::string(".base_layer.weight").size()) + ".weight"
            : key;
    m_replacements.push_back({&tensor, target});
  }
  for (auto& [name, module] : modules) {
    if (module.a == nullptr || module.b == nullptr) {
      bad_adapter(m_file.path(), "module " + name + " lacks its lora_A or lora_B tensor");
    }
    if (module.kind != LoraKind::embedding && module.a->shape.size() == 4) {
      module.kind = LoraKind::conv;
    }
    if (module.magnitude != nullptr && !m_config.use_dora) {
      bad_adapter(m_file.path(), "module " + name + " has a DoRA magnitude but use_dora is false");
    }
    if (m_config.use_dora && module.magnitude == nullptr) {
      bad_adapter(m_file.path(), "use_dora is set but module " + name + " has no lora_magnitude_vector");
    }
    if (module.bias != nullptr && !m_config.lora_bias) {
      bad_adapter(m_file.path(), "module " + name + " has lora_B.bias but lora_bias is false");
    }
    for (const TensorInfo* t : {module.a, module.b, module.magnitude, module.bias}) {
      if (t != nullptr && !(t->dtype == DType::F32 || t->dtype == DType::F16 || t->dtype == DType::BF16)) {
        bad_adapter(m_file.path(), "tensor " + t->name + " has dtype " + std::string(dtype_name(t->dtype)) +
                                       "; LoRA factors must be F32, F16 or BF16");
      }
    }
    module.scaling = m_config.scaling(name);
    m_modules.push_back(module);
  }
}

} // namespace modelkeep::core
