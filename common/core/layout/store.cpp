#include "core/layout/store.hpp"

#include "core/layout/names.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

namespace modelkeep::core {

Store::Store(const fs::path& root) : m_root(fs::absolute(root).lexically_normal()), m_model(k_default_model)
{
  if (m_root.has_filename() == false && m_root.has_parent_path()) {
    m_root = m_root.parent_path();
  }
  m_dir = m_root;
}

Store::Store(const fs::path& root, const std::string& model) : Store(root)
{
  if (model.empty() || model == k_default_model) {
    return;
  }
  validate_model_name(model);
  m_model = model;
  m_dir = m_root / model;
  fs::path prefix = m_root;
  for (const auto& segment : fs::path(model)) {
    prefix /= segment;
    if (util::is_symlink(prefix)) {
      throw Error(ExitCode::usage, "model '" + model + "': " + prefix.string() +
                                       " is a symbolic link; a model's directory must be inside the root");
    }
  }
}

std::string Store::model_suffix() const
{
  return is_default_model() ? std::string() : " (model " + m_model + ")";
}

namespace {

/// Whether `dir` holds a model's layout or a root's files.
bool looks_like_store(const fs::path& dir)
{
  std::error_code ec;
  return fs::is_directory(dir / filenames::versions, ec) || fs::is_directory(dir / filenames::state, ec) ||
         fs::is_regular_file(dir / filenames::catalog, ec);
}

const char* env_value(const char* name)
{
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

/// The store found from the working directory (nullopt if none, or the directory is gone).
std::optional<Store::Found> discovered()
{
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  return ec ? std::nullopt : Store::discover(cwd);
}

} // namespace

std::optional<Store::Found> Store::discover(const fs::path& start)
{
  const fs::path from = fs::absolute(start).lexically_normal();
  for (fs::path dir = from;; dir = dir.parent_path()) {
    if (looks_like_store(dir)) {
      // A named model's directory: its root is the nearest store above it, if the path between
      // is a model name.
      for (fs::path above = dir.parent_path(); above != dir.root_path(); above = above.parent_path()) {
        if (!looks_like_store(above)) {
          continue;
        }
        const std::string name = dir.lexically_relative(above).generic_string();
        try {
          validate_model_name(name);
          return Found{above, name};
        } catch (const Error&) {
          break;
        }
      }
      return Found{dir, std::nullopt};
    }
    if (looks_like_store(dir / "models")) {
      return Found{dir / "models", std::nullopt};
    }
    if (dir == dir.parent_path()) {
      return std::nullopt;
    }
  }
}

fs::path Store::choose_root(const std::optional<std::string>& cli_root)
{
  if (cli_root && !cli_root->empty()) {
    return *cli_root;
  }
  if (const char* env = env_value("MODELKEEP_ROOT")) {
    return env;
  }
  if (const auto found = discovered()) {
    return found->root;
  }
  return "models";
}

std::string Store::choose_model(const std::optional<std::string>& cli_model)
{
  if (cli_model) {
    return cli_model->empty() ? std::string(k_default_model) : *cli_model;
  }
  if (const char* env = env_value("MODELKEEP_MODEL")) {
    return env;
  }
  return k_default_model;
}

Store Store::locate(const std::optional<std::string>& cli_root, const std::optional<std::string>& cli_model)
{
  const bool named = (cli_root && !cli_root->empty()) || env_value("MODELKEEP_ROOT") != nullptr;
  if (!named && !cli_model && env_value("MODELKEEP_MODEL") == nullptr) {
    if (const auto found = discovered()) {
      return {found->root, found->model.value_or(k_default_model)};
    }
  }
  return {choose_root(cli_root), choose_model(cli_model)};
}

bool Store::exists() const
{
  return util::is_directory(versions_dir());
}

void Store::require_exists() const
{
  if (exists()) {
    return;
  }
  if (!is_default_model()) {
    throw Error(ExitCode::not_found,
                "no model '" + m_model + "' in " + m_root.string() + ": no " + versions_dir().string() +
                    " (create a version first; `model-versioner catalog` lists the models)");
  }
  std::string hint = "create a version first, or pass --root";
  const auto models = discover_models(m_root);
  if (!models.empty()) {
    hint = "this root holds named models (" + util::join(models, ", ") + "): pass --model NAME";
  }
  throw Error(ExitCode::not_found,
              "no store at " + m_root.string() + ": no versions/ directory (" + hint + ")");
}

std::optional<nlohmann::json> read_store_config(const fs::path& path)
{
  auto doc = util::read_json_file_if_exists(path, util::JsonLimit::settings, "store config");
  if (!doc) {
    return std::nullopt;
  }
  if (!doc->is_object()) {
    throw Error(ExitCode::malformed, "bad store config " + path.string() +
                                         ": the top level must be an object ({\"link\": ..., \"offsite\": ...}), "
                                         "not " + std::string(doc->type_name()));
  }
  // The keys each section may hold; anything else is most likely a typo that would otherwise be
  // silently ignored.
  static const std::map<std::string, std::set<std::string>> k_known = {
      {"link", {}},
      {"auto_promote", {"metric", "high_threshold", "min_improvement"}},
      {"offsite", {"repository", "password_file", "options", "timeout_seconds"}},
  };
  std::vector<std::string> unknown;
  for (const auto& [key, value] : doc->items()) {
    const auto known = k_known.find(key);
    if (known == k_known.end()) {
      unknown.push_back(key);
      continue;
    }
    if (!known->second.empty() && value.is_object()) {
      for (const auto& [inner, ignored] : value.items()) {
        if (known->second.count(inner) == 0) {
          unknown.push_back(key + "." + inner);
        }
      }
    }
  }
  if (!unknown.empty()) {
    static std::mutex mutex;
    static std::set<std::string> warned;
    const std::lock_guard<std::mutex> guard(mutex);
    if (warned.insert(path.string()).second) {
      util::log_warning(path.string() + ": unknown key" + (unknown.size() == 1 ? " " : "s ") +
                        util::join(unknown, ", ") +
                        " (ignored; known: link, auto_promote.{metric, high_threshold, min_improvement}, "
                        "offsite.{repository, password_file, options, timeout_seconds})");
    }
  }
  return doc;
}

nlohmann::json Store::config() const
{
  nlohmann::json merged = nlohmann::json::object();
  std::vector<fs::path> files = {root_state_dir() / filenames::config};
  if (!is_default_model()) {
    files.push_back(state_dir() / filenames::config);
  }
  for (const auto& path : files) {
    if (const auto doc = read_store_config(path)) {
      merged.update(*doc);
    }
  }
  return merged;
}

void Store::ensure_layout() const
{
  for (const auto& dir : {versions_dir(), backups_dir(), consolidated_dir(), state_dir()}) {
    util::create_directories(dir);
  }
}

util::LockFile Store::acquire_lock(const std::string& command, std::chrono::milliseconds timeout,
                                   const util::LockWaitNote& waiting) const
{
  ensure_layout();
  auto lock = util::LockFile::acquire(lock_path(), command, timeout, waiting);
  for (const auto& path : clean_leftovers()) {
    util::log_step("removed leftover of an interrupted run: " + path.string());
  }
  return lock;
}

namespace {

void remove_temps_in(const fs::path& dir, std::vector<fs::path>& removed)
{
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (util::is_temp_name(it->path().filename().string())) {
      util::remove_all(it->path());
      removed.push_back(it->path());
    }
  }
  util::check_listing(ec, dir);
}

} // namespace

std::vector<fs::path> Store::clean_leftovers() const
{
  std::vector<fs::path> removed;
  remove_temps_in(versions_dir(), removed);
  remove_temps_in(state_dir(), removed);
  remove_temps_in(state_dir() / filenames::objects, removed);
  remove_temps_in(consolidated_dir(), removed);
  std::error_code ec;
  for (fs::directory_iterator it(backups_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (util::is_temp_name(it->path().filename().string())) {
      util::remove_all(it->path());
      removed.push_back(it->path());
    } else if (it->is_directory()) {
      remove_temps_in(it->path(), removed);
    }
  }
  util::check_listing(ec, backups_dir());
  if (!removed.empty()) {
    util::fsync_dir(versions_dir());
  }
  return removed;
}

namespace {

void find_models(const fs::path& dir, const std::string& name, std::size_t depth,
                 std::vector<std::string>& out)
{
  static constexpr std::size_t k_max_depth = 16;
  std::error_code ec;
  if (!name.empty() && util::is_directory(dir / filenames::versions)) {
    out.push_back(name);
  }
  if (depth >= k_max_depth) {
    return;
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string segment = it->path().filename().string();
    std::error_code type_ec;
    if (!follows(k_model_segment_rule, segment) || it->is_symlink(type_ec) || !it->is_directory(type_ec)) {
      continue;
    }
    const std::string child = name.empty() ? segment : name + "/" + segment;
    if (child.size() <= k_max_model_name && child != k_default_model) {
      find_models(it->path(), child, depth + 1, out);
    }
  }
  util::check_listing(ec, dir);
}

} // namespace

std::vector<std::string> discover_models(const fs::path& root)
{
  std::vector<std::string> named;
  find_models(root, "", 0, named);
  std::sort(named.begin(), named.end());
  std::vector<std::string> models;
  if (util::is_directory(root / filenames::versions)) {
    models.emplace_back(k_default_model);
  }
  models.insert(models.end(), named.begin(), named.end());
  return models;
}

} // namespace modelkeep::core
