#include "workflow.hpp"

#include "core/backup/backup.hpp"
#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/version_ops.hpp"
#include "core/weights/merge_plan.hpp"
#include "merger.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace modelkeep::consolidate {

using nlohmann::json;

namespace {

constexpr const char* k_config_file = "modelkeep.json";
constexpr const char* k_journal_file = ".modelkeep-consolidation.json";

/// DIR/modelkeep.json with the flags applied; relative paths resolved against DIR.
struct Settings {
  json doc = json::object();
  fs::path base_model;
  fs::path adapter;
  fs::path store_root;
  std::string model = core::k_default_model;
};

fs::path under(const fs::path& dir, const std::string& path)
{
  const fs::path p(path);
  return (p.is_absolute() ? p : dir / p).lexically_normal();
}

/// --model, else $MODELKEEP_MODEL, else modelkeep.json's "model", else the default model.
std::string load_model_name(const ConsolidateRequest& request, const json& doc, const fs::path& path)
{
  const char* env_model = std::getenv("MODELKEEP_MODEL");
  if (request.model || (env_model != nullptr && *env_model != '\0') || !doc.contains("model")) {
    return core::Store::choose_model(request.model);
  }
  if (!doc["model"].is_string()) {
    throw Error(ExitCode::malformed, "bad " + path.string() + ": \"model\" is not a string");
  }
  const auto model = doc["model"].get<std::string>();
  if (model != core::k_default_model) {
    try {
      core::validate_model_name(model);
    } catch (const Error& e) {
      throw Error(ExitCode::malformed, "bad " + path.string() + ": " + e.what());
    }
  }
  return model;
}

Settings load_settings(const ConsolidateRequest& request)
{
  Settings settings;
  const fs::path dir = fs::absolute(request.base_dir).lexically_normal();
  const fs::path path = dir / k_config_file;
  if (const auto doc = util::read_json_file_if_exists(path, util::JsonLimit::settings, "settings")) {
    settings.doc = *doc;
    if (!settings.doc.is_object()) {
      throw Error(ExitCode::malformed, "bad " + path.string() + ": not a JSON object");
    }
  }
  const auto text = [&](const char* key, const std::optional<std::string>& flag, const char* fallback) {
    if (flag) {
      return *flag;
    }
    if (settings.doc.contains(key) && settings.doc[key].is_string()) {
      return settings.doc[key].get<std::string>();
    }
    return std::string(fallback);
  };
  const std::string base = text("base_model", request.base_model, "");
  if (base.empty()) {
    throw Error(ExitCode::usage,
                "no base model: pass --base-model PATH (it is then kept in " + path.string() + ")");
  }
  settings.base_model = under(dir, base);
  settings.adapter = under(dir, text("adapter_dir", request.adapter_dir, "current_model"));
  const char* env_root = std::getenv("MODELKEEP_ROOT");
  if (request.root) {
    settings.store_root = fs::absolute(*request.root).lexically_normal();
  } else if (env_root != nullptr && *env_root != '\0') {
    settings.store_root = fs::absolute(env_root).lexically_normal();
  } else {
    settings.store_root = under(dir, text("store", std::nullopt, "models"));
  }
  settings.model = load_model_name(request, settings.doc, path);
  if (request.model) {
    settings.doc["model"] = settings.model; // remembered, as --base-model is
  }
  settings.doc["base_model"] = base;
  settings.doc["adapter_dir"] = text("adapter_dir", request.adapter_dir, "current_model");
  settings.doc["store"] = text("store", std::nullopt, "models");
  return settings;
}

/// The record of completed steps, rewritten atomically after each one.
class Journal {
public:
  explicit Journal(const fs::path& dir) : m_path(dir / k_journal_file)
  {
    if (util::exists(m_path)) {
      try {
        m_doc = util::read_json_file(m_path, util::JsonLimit::settings, "consolidation journal");
      } catch (const Error& e) {
        if (e.code() != ExitCode::malformed) {
          throw;
        }
      }
      if (!m_doc.is_object()) {
        throw Error(ExitCode::malformed, "bad consolidation journal " + m_path.string() +
                                             ": remove it to start over (nothing has been deleted)");
      }
      m_resumed = true;
    }
  }
  [[nodiscard]] bool resumed() const { return m_resumed; }
  [[nodiscard]] bool has(const char* step) const { return m_doc.contains(step); }
  [[nodiscard]] std::string get(const char* step) const { return m_doc.value(step, std::string()); }
  void set(const char* step, const std::string& value)
  {
    m_doc[step] = value;
    util::write_file_atomic(m_path, m_doc.dump(2) + '\n');
  }
  /// The journal goes, durably: a journal back after a power cut would resume a finished run.
  void finish()
  {
    util::remove_all(m_path);
    util::fsync_dir(m_path.parent_path());
  }
  void reset()
  {
    m_doc = json::object();
    finish();
    m_resumed = false;
  }

private:
  fs::path m_path;
  json m_doc = json::object();
  bool m_resumed = false;
};

class Consolidation {
public:
  Consolidation(const ConsolidateRequest& request, const std::function<void(const std::string&)>& say)
      : m_request(request), m_say(say), m_dir(fs::absolute(request.base_dir).lexically_normal()),
        m_journal(m_dir)
  {
  }

  ConsolidateResult run();

private:
  void step(int n, const std::string& text)
  {
    const std::string line = "[" + std::to_string(n) + "/6] " + text;
    m_result.log.push_back(util::utc_iso8601(std::chrono::system_clock::now()) + " " + line);
    m_say(line);
  }
  void validate(const Settings& settings);
  void refuse_remerge(const core::Store& store, const Settings& settings) const;
  void backup(const core::Store& store, const Settings& settings);
  void version(const core::Store& store, const Settings& settings);
  void merge(const core::Store& store, const Settings& settings);
  [[nodiscard]] std::string base_model_digest(const core::Store& store, const Settings& settings) const;
  [[nodiscard]] std::string adapter_digest(const core::Store& store) const;
  void update_config(Settings& settings);
  void delete_adapter(const Settings& settings);
  bool journal_still_valid(const core::Store& store);
  void remove_leftovers(const Settings& settings);

  const ConsolidateRequest& m_request;
  std::function<void(const std::string&)> m_say;
  fs::path m_dir;
  Journal m_journal;
  ConsolidateResult m_result;
  std::optional<core::BaseModel> m_base;
  std::vector<core::Adapter> m_adapters;
  std::optional<core::MergePlan> m_plan;
};

namespace {

/// The version request for the adapter (and evolution snapshots) in `dir`.
core::CreateRequest version_request(const ConsolidateRequest& request, const Settings& settings,
                                    const fs::path& dir)
{
  core::CreateRequest create;
  create.adapter = settings.adapter;
  create.description = request.description;
  create.data_files = request.training_data;
  create.steps = request.steps;
  create.final_loss = request.loss;
  create.base_model = settings.base_model.string();
  const fs::path snapshots = dir / core::filenames::snapshots;
  if (util::is_directory(snapshots)) {
    create.snapshots = snapshots;
  }
  return create;
}

/// Where `digest` was merged into `base` or one of the bases it was merged from, following
/// the chain of consolidation.json records; nullopt if nowhere.
std::optional<std::string> merged_into(const core::Store& store, fs::path base, const std::string& digest)
{
  for (int depth = 0; depth < 64; ++depth) {
    const auto record =
        util::read_json_file_if_exists(base / "consolidation.json", util::JsonLimit::record, "consolidation record");
    if (!record || !record->is_object()) {
      return std::nullopt;
    }
    std::string merged = record->value("adapter_digest", "");
    const std::string version = record->value("adapter_version", "");
    if (merged.empty() && !version.empty()) {
      try { // a record of 0.1: the digest is the version's
        merged = core::load_metadata(store.versions_dir() / version).manifest.digest();
      } catch (const Error&) {
      }
    }
    if (merged == digest) {
      return base.string() + " (merged from " + (version.empty() ? std::string("an adapter") : version) + ")";
    }
    const std::string parent = record->value("base_model", "");
    if (parent.empty() || fs::path(parent) == base) {
      return std::nullopt;
    }
    base = parent;
  }
  return std::nullopt;
}

} // namespace

void Consolidation::validate(const Settings& settings)
{
  step(1,
       "validating adapter " + settings.adapter.string() + " against base " + settings.base_model.string());
  m_base.emplace(core::BaseModel::open(settings.base_model));
  m_adapters.clear();
  m_adapters.push_back(core::Adapter::open(settings.adapter));
  m_plan.emplace(core::plan_merge(*m_base, m_adapters, {{}, 1, m_request.dtype, false}));
  const auto adapter_bytes = core::total_size(core::scan_input(settings.adapter, "adapter directory"));
  const std::uint64_t need = 2 * adapter_bytes + m_plan->output_bytes + m_plan->output_bytes / 20;
  fs::path existing = settings.store_root;
  while (!util::exists(existing) && existing.has_parent_path() && existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  step(1, std::to_string(m_plan->modules.size()) + " modules, " + std::to_string(m_plan->merged_tensors) +
              " tensors merged, " + util::human_size(m_plan->output_bytes) + " to write; " +
              util::human_size(util::available_space(existing)) + " free");
  for (const auto& module : m_plan->modules) {
    char scale[32];
    std::snprintf(scale, sizeof scale, "%g", module.scaling);
    step(1, "  " + module.module + " -> " + module.base_tensor + " (" + module.kind + ", scale " + scale +
                (module.transposed ? ", transposed)" : ")"));
  }
  util::require_space(existing, need);
}

void Consolidation::backup(const core::Store& store, const Settings& settings)
{
  if (m_journal.has("backup")) {
    step(2, "verified backup already made: " + m_journal.get("backup"));
    return;
  }
  step(2, "verified backup of " + settings.adapter.string());
  core::BackupRequest request{settings.adapter, "pre_consolidation", settings.adapter.filename().string(),
                              "before consolidating: " + m_request.description,
                              core::default_critical_files(settings.adapter)};
  const auto record = core::create_verified_backup(store, request, m_request.show_progress);
  const fs::path snapshots = m_dir / core::filenames::snapshots;
  if (util::is_directory(snapshots) && !core::scan_tree(snapshots, core::Symlinks::inside_only).empty()) {
    const auto snap = core::create_verified_backup(
        store, {snapshots, "pre_consolidation", "evolution_snapshots", "before consolidating", {}},
        m_request.show_progress);
    step(2, "verified backup of evolution_snapshots: " + snap.path.string());
  }
  m_journal.set("backup", record.path.string());
  m_result.backup = record.path.string();
  step(2, "backup verified: " + record.path.string());
  util::failpoint("consolidate.after_backup");
}

void Consolidation::version(const core::Store& store, const Settings& settings)
{
  if (m_journal.has("version")) {
    step(3, "version already recorded: " + m_journal.get("version"));
    return;
  }
  const core::CreateRequest request = version_request(m_request, settings, m_dir);
  std::string name;
  if (const auto existing = core::find_version_by_digest(store, core::source_manifest(request).digest())) {
    name = existing->name;
    step(3, "adapter identical to " + name + ": reusing that version");
  } else {
    name = core::create_version(store, request, m_request.tool_version, m_request.show_progress).name;
    step(3, "version " + name + " created");
  }
  m_journal.set("version", name);
  util::failpoint("consolidate.after_version");
}

void Consolidation::refuse_remerge(const core::Store& store, const Settings& settings) const
{
  const std::string digest = core::source_manifest(version_request(m_request, settings, m_dir)).digest();
  const auto where = merged_into(store, settings.base_model, digest);
  if (!where) {
    return;
  }
  if (m_request.allow_remerge) {
    m_say("the base already contains this adapter: " + *where + "; merging it again (--allow-remerge)");
    return;
  }
  throw Error(ExitCode::refused, "refusing to merge " + settings.adapter.string() +
                                     ": the base model already contains it: " + *where +
                                     "; merging it again would apply its delta twice (add --allow-remerge "
                                     "to do it anyway)");
}

std::string Consolidation::base_model_digest(const core::Store& store, const Settings& settings) const
{
  // Step 3 recorded it in the version when the base is a directory: reading gigabytes of base
  // weights a second time for the same digest would double the cost of a consolidation.
  try {
    const auto meta = core::load_metadata(store.versions_dir() / m_journal.get("version"));
    if (meta.base_model == settings.base_model.string() && !meta.base_model_digest.empty()) {
      return meta.base_model_digest;
    }
  } catch (const Error&) {
  }
  if (m_base->is_directory()) {
    return core::hash_files(core::scan_tree(m_base->dir()), nullptr).digest();
  }
  const fs::path file = m_base->shards().front().path();
  return core::hash_files({{file.filename().string(), file, fs::file_size(file), 0644}}, nullptr).digest();
}

std::string Consolidation::adapter_digest(const core::Store& store) const
{
  try {
    return core::load_metadata(store.versions_dir() / m_journal.get("version")).manifest.digest();
  } catch (const Error&) {
    return {};
  }
}

void Consolidation::merge(const core::Store& store, const Settings& settings)
{
  if (m_journal.has("output")) {
    step(4, "merged model already written: " + m_journal.get("output"));
    return;
  }
  if (m_journal.has("output_pending")) {
    // A run killed between renaming its output into place and recording it: adopt it.
    const fs::path pending = m_journal.get("output_pending");
    if (util::exists(pending / "consolidation.json")) {
      core::append_event(store, core::EventKind::consolidate,
                         {{"version", m_journal.get("version")},
                          {"backup", m_journal.get("backup")},
                          {"output", pending.string()}});
      m_journal.set("output", pending.string());
      step(4, "merged model found complete: " + pending.string());
      return;
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const auto now = std::chrono::system_clock::now();
  fs::path final_path = store.consolidated_dir() / util::utc_compact(now);
  for (int n = 2; util::exists(final_path); ++n) {
    final_path = store.consolidated_dir() / (util::utc_compact(now) + "_" + std::to_string(n));
  }
  m_journal.set("output_pending", final_path.string());
  util::TempPath temp(util::temp_path_for(final_path));
  step(4, "merging into " + final_path.string());
  util::Progress progress("merging", m_plan->output_bytes, m_request.show_progress);
  const MergeStats stats = write_merged(*m_base, m_adapters, *m_plan, temp.path(), &progress);
  progress.finish();
  util::failpoint("consolidate.after_merge");
  const auto output_manifest = core::hash_files(core::scan_tree(temp.path()), nullptr);
  // Proven, not assumed: every tensor of the written model recomputed and compared (0 ulp).
  util::Progress checking("checking", m_plan->output_bytes, m_request.show_progress);
  const MergeCheck check = check_merged(*m_base, m_adapters, *m_plan, core::BaseModel::open(temp.path()), 0, &checking);
  checking.finish();
  if (!check.ok()) {
    const auto& first = check.differences.front();
    throw Error(ExitCode::failed, "the merged model does not check out against base + adapter (" + first.tensor +
                                      ": " + first.detail + "); nothing was kept or deleted");
  }
  const std::string base_digest = base_model_digest(store, settings);
  json modules = json::array();
  for (const auto& module : m_plan->modules) {
    modules.push_back(
        {{"module", module.module},
         {"base_tensor", module.base_tensor},
         {"kind", module.kind},
         {"scale", module.scaling},
         {"rank", module.rank},
         {"alpha", module.alpha},
         {"transposed", module.transposed},
         {"max_abs_delta",
          stats.module_max.count(module.module) != 0 ? stats.module_max.at(module.module) : 0.0}});
  }
  const json record = {
      {"schema_version", 1},
      {"created_at", util::utc_iso8601(now)},
      {"description", m_request.description},
      {"base_model", settings.base_model.string()},
      {"base_manifest_digest", base_digest},
      {"adapter", settings.adapter.string()},
      {"adapter_version", m_journal.get("version")},
      {"adapter_digest", adapter_digest(store)},
      {"backup", m_journal.get("backup")},
      {"modules", modules},
      {"merged_tensors", m_plan->merged_tensors},
      {"replaced_tensors", m_plan->replaced_tensors},
      {"added_tensors", m_plan->added_tensors},
      {"max_abs_delta", stats.max_abs_delta},
      {"bytes_written", stats.bytes_written},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
      {"files", output_manifest.to_json()},
      {"manifest_digest", output_manifest.digest()},
      {"check", {{"tensors", check.tensors}, {"identical", check.identical}, {"max_ulp", check.max_ulp}}},
      // What check needs to re-derive the result: consolidate-model check --base BASE --adapter
      // ADAPTER (from its backup) --merged OUTPUT with these.
      {"merge_options",
       {{"combination", core::k_combination_names[static_cast<std::size_t>(m_plan->combination)]},
        {"density", m_plan->density},
        {"seed", m_plan->seed},
        {"weights", json::array({1.0})},
        {"scale", 1.0},
        {"dtype", m_request.dtype ? json(std::string(core::dtype_name(*m_request.dtype))) : json("keep")}}},
  };
  step(4, "merged " + std::to_string(m_plan->merged_tensors) + " tensors, max |delta| " +
              std::to_string(stats.max_abs_delta) + "; output re-read and checksummed; checked: " +
              std::to_string(check.identical) + " of " + std::to_string(check.tensors) +
              " tensors bit for bit base + adapter");
  util::write_file_atomic(temp.path() / "consolidation.json", record.dump(2) + '\n');
  std::string log;
  for (const auto& line : m_result.log) {
    log += line + '\n';
  }
  util::write_file_atomic(temp.path() / "consolidation.log", log);
  util::fsync_dir(temp.path());
  util::rename_durable(temp.path(), final_path);
  temp.commit();
  util::failpoint("consolidate.before_record");
  core::append_event(store, core::EventKind::consolidate,
                     {{"version", m_journal.get("version")},
                      {"backup", m_journal.get("backup")},
                      {"output", final_path.string()}});
  m_journal.set("output", final_path.string());
  util::failpoint("consolidate.after_rename");
}

void Consolidation::update_config(Settings& settings)
{
  if (m_journal.has("config")) {
    step(5, "modelkeep.json already updated");
    return;
  }
  json& doc = settings.doc;
  json entry = {{"base_model", doc["base_model"]},
                {"replaced_at", util::utc_iso8601(std::chrono::system_clock::now())},
                {"by", m_journal.get("output")},
                {"adapter_version", m_journal.get("version")}};
  if (!doc.contains("history") || !doc["history"].is_array()) {
    doc["history"] = json::array();
  }
  doc["history"].push_back(entry);
  // A base model given relative to the training directory stays relative, so that the directory
  // (with its store inside) can move.
  const fs::path output = m_journal.get("output");
  const bool relative = doc["base_model"].is_string() && fs::path(doc["base_model"].get<std::string>()).is_relative();
  doc["base_model"] = relative ? output.lexically_relative(m_dir).string() : output.string();
  util::write_file_atomic(m_dir / k_config_file, doc.dump(2) + '\n');
  m_journal.set("config", "done");
  step(5, "modelkeep.json: base_model -> " + doc["base_model"].get<std::string>());
  util::failpoint("consolidate.after_config");
}

void Consolidation::delete_adapter(const Settings& settings)
{
  if (m_request.keep_adapter || !util::exists(settings.adapter)) {
    step(6, m_request.keep_adapter ? "keeping the adapter (--keep-adapter)" : "adapter already removed");
    return;
  }
  // Every earlier step is recorded and its result verified: only now may the adapter go.
  const fs::path doomed = util::temp_path_for(settings.adapter, "consolidated");
  util::rename_durable(settings.adapter, doomed);
  util::failpoint("consolidate.after_adapter_rename");
  util::remove_all(doomed);
  m_result.adapter_deleted = true;
  step(6, "deleted " + settings.adapter.string() + " (backed up in " + m_journal.get("backup") +
              ", version " + m_journal.get("version") + ")");
}

bool Consolidation::journal_still_valid(const core::Store& store)
{
  if (m_journal.has("backup") &&
      !util::exists(fs::path(m_journal.get("backup")) / core::filenames::backup_record)) {
    return false;
  }
  if (m_journal.has("version") && !util::is_directory(store.versions_dir() / m_journal.get("version"))) {
    return false;
  }
  return !m_journal.has("output") || util::exists(fs::path(m_journal.get("output")) / "consolidation.json");
}

void Consolidation::remove_leftovers(const Settings& settings)
{
  // Temporaries of a killed run in DIR: its journal's and modelkeep.json's atomic writes, and
  // an adapter renamed away just before it was removed (step 6 had already been reached).
  const std::vector<std::string> prefixes = {
      "." + std::string(k_journal_file) + ".tmp", "." + std::string(k_config_file) + ".tmp",
      "." + settings.adapter.filename().string() + ".consolidated.tmp"};
  std::error_code ec;
  for (fs::directory_iterator it(settings.adapter.parent_path(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    for (const auto& prefix : prefixes) {
      if (name.rfind(prefix, 0) == 0) {
        util::remove_all(it->path());
      }
    }
  }
}

ConsolidateResult Consolidation::run()
{
  Settings settings = load_settings(m_request);
  m_result.dry_run = m_request.dry_run;
  const core::Store store(settings.store_root, settings.model);
  if (m_journal.resumed()) {
    m_say("found an unfinished consolidation in " + m_dir.string() + ": resuming it");
    if (m_journal.has("config")) {
      settings.base_model = under(m_dir, settings.doc["history"].back()["base_model"].get<std::string>());
    }
  }
  const bool adapter_present = util::exists(settings.adapter);
  if (m_request.dry_run || (!m_journal.resumed() && adapter_present)) {
    validate(settings); // read-only: a failure here leaves everything as it was
    refuse_remerge(store, settings);
  }
  if (m_request.dry_run) {
    m_say("dry run: nothing was written");
    return m_result;
  }
  if (!adapter_present && !m_journal.has("config")) {
    throw Error(ExitCode::not_found, "adapter directory not found " + settings.adapter.string());
  }
  const auto lock = core::lock_for_writing(
      store, "consolidate-model",
      std::chrono::milliseconds(static_cast<long long>(m_request.lock_timeout_seconds * 1000)), m_say);
  remove_leftovers(settings);
  if (m_journal.resumed() && !journal_still_valid(store)) {
    m_say("the unfinished consolidation's results are gone: starting over");
    m_journal.reset();
  }
  m_result.resumed = m_journal.resumed();
  if (m_journal.resumed() && !m_journal.has("output") && adapter_present) {
    validate(settings);
  }
  if (!m_journal.resumed()) {
    util::write_file_atomic(m_dir / k_config_file, settings.doc.dump(2) + '\n');
  }
  backup(store, settings);
  version(store, settings);
  merge(store, settings);
  update_config(settings);
  delete_adapter(settings);
  m_result.backup = m_journal.get("backup");
  m_result.version = m_journal.get("version");
  m_result.output = m_journal.get("output");
  m_journal.finish();
  return m_result;
}

} // namespace

nlohmann::json ConsolidateResult::to_json() const
{
  return {{"dry_run", dry_run}, {"resumed", resumed},
          {"backup", backup},   {"version", version},
          {"output", output},   {"adapter_deleted", adapter_deleted},
          {"log", log}};
}

ConsolidateResult run_consolidation(const ConsolidateRequest& request,
                                    const std::function<void(const std::string&)>& say)
{
  return Consolidation(request, say).run();
}

} // namespace modelkeep::consolidate
