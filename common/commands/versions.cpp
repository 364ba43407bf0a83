#include "commands/versions.hpp"

#include "core/layout/events.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace modelkeep::commands {

using nlohmann::json;

namespace {

bool has_tag(const core::ListedVersion& row, const std::optional<std::string>& tag)
{
  if (!tag) {
    return true;
  }
  if (!row.summary) {
    return false;
  }
  const auto eq = tag->find('=');
  const auto it = row.summary->tags.find(tag->substr(0, eq));
  return it != row.summary->tags.end() && (eq == std::string::npos || it->second == tag->substr(eq + 1));
}

/// The string under `key`, or "" (what json::value() would give, without its inlined null
/// check that GCC 12 misreads as a null dereference).
std::string text_of(const json& event, const char* key)
{
  const auto it = event.find(key);
  return it != event.end() && it->is_string() ? it->get_ref<const std::string&>() : std::string();
}

bool concerns(const json& event, const std::string& name)
{
  for (const char* key : {"version", "from", "to"}) {
    if (event.contains(key) && event[key].is_string() && event[key].get<std::string>() == name) {
      return true;
    }
  }
  return false;
}

/// The version a --version argument names: an existing one, or a deleted one the log knows.
std::string version_for_history(const core::Store& store, const std::string& text,
                                const std::vector<json>& events)
{
  const auto ref = core::VersionRef::parse(text);
  try {
    return core::resolve_version(store, ref).name;
  } catch (const Error& error) {
    if (error.code() != ExitCode::not_found) {
      throw;
    }
    for (const auto& event : events) {
      const std::string name = text_of(event, "version");
      const bool match =
          ref.kind == core::VersionRef::Kind::name
              ? name == ref.name
              : ref.kind == core::VersionRef::Kind::number &&
                    core::parse_version_dir_name(name) == std::optional<std::uint64_t>(ref.number);
      if (match) {
        return name;
      }
    }
    throw;
  }
}

} // namespace

json Created::to_json() const
{
  json doc = meta.to_json();
  doc["path"] = path;
  doc["storage"] = {{"files_linked", stats.files_linked},
                    {"files_stored", stats.files_stored},
                    {"bytes_read", stats.bytes_read},
                    {"link", core::link_mode_name(stats.used)}};
  return doc;
}

Created create_version(const Session& session, const core::CreateRequest& request,
                       const std::string& tool_version)
{
  // Not session.lock(): the store may not exist yet, and create is a writer that makes one.
  const auto lock = core::lock_for_writing(session.store, session.program + " create", session.lock_timeout);
  Created created;
  created.meta = core::create_version(session.store, request, tool_version, session.progress, &created.stats);
  created.path = (session.store.versions_dir() / created.meta.name).string();
  return created;
}

json Restored::to_json() const
{
  json doc = result.to_json();
  doc["version"] = version;
  doc["files"] = files;
  doc["backup"] = doc["pre_restore_backup"]; // the name 0.1 documents gave it
  return doc;
}

Restored restore_version(const Session& session, const RestoreOptions& options)
{
  const auto ref = core::VersionRef::parse(options.version);
  const auto lock = session.lock("restore");
  const auto version = core::resolve_version(session.store, ref);
  const auto meta = core::load_metadata(version.path);
  const std::string target = options.to ? *options.to : meta.source;
  if (target.empty()) {
    throw Error(ExitCode::usage, version.name + " records no source directory: pass --to DIR");
  }
  Restored restored;
  restored.version = version.name;
  restored.files = meta.manifest.subtree("adapter/").file_count();
  restored.result = core::restore_version(session.store, version, meta, target, session.progress);
  return restored;
}

std::string VersionList::marks_of(const core::ListedVersion& row) const
{
  std::string marks = latest == row.version.name ? "latest" : "";
  for (const auto& [stage, holder] : stages) {
    if (holder == row.version.name) {
      marks += (marks.empty() ? "" : ",") + stage;
    }
  }
  return marks;
}

json VersionList::row_head(const core::ListedVersion& row) const
{
  json head = {{"name", row.version.name},
               {"id", core::version_id(row.version.number)},
               {"latest", latest == row.version.name},
               {"stages", json::array()}};
  for (const auto& [stage, holder] : stages) {
    if (holder == row.version.name) {
      head["stages"].push_back(stage);
    }
  }
  if (!row.summary) {
    head["error"] = row.error;
  }
  return head;
}

json VersionList::to_json() const
{
  json versions = json::array();
  for (const auto& row : rows) {
    json item = row_head(row);
    if (row.summary) {
      item.update(row.summary->to_json());
    }
    versions.push_back(std::move(item));
  }
  json doc = {{"root", root}, {"model", model}, {"versions", std::move(versions)}};
  if (paged) {
    doc["next_cursor"] = next_cursor ? json(*next_cursor) : json(nullptr);
  }
  return doc;
}

std::string VersionList::to_json_text() const
{
  std::string text = R"({"ok":true,"schema_version":)" + std::to_string(k_schema_version) +
                     R"(,"model":)" + json(model).dump() + R"(,"root":)" + json(root).dump() +
                     R"(,"versions":[)";
  bool first = true;
  for (const auto& row : rows) {
    std::string item = row_head(row).dump();
    if (row.summary) {
      const std::string summary = row.summary_json ? *row.summary_json : row.summary->to_json().dump();
      if (summary.size() > 2) { // "{...}": its fields join the row's
        item.back() = ',';
        item.append(summary, 1, std::string::npos);
      }
    }
    text += (first ? "" : ",") + item;
    first = false;
  }
  text += ']';
  if (paged) {
    text += R"(,"next_cursor":)" + (next_cursor ? json(*next_cursor) : json(nullptr)).dump();
  }
  text += "}\n";
  return text;
}

void VersionList::require_readable() const
{
  for (const auto& row : rows) {
    if (!row.summary) {
      throw Error(ExitCode::malformed, row.error);
    }
  }
}

VersionList list_versions(const Session& session, const ListOptions& options)
{
  const core::Store& store = session.existing();
  if (options.limit > 1000) {
    throw Error(ExitCode::usage, "limit must be 1-1000");
  }
  VersionList list;
  list.root = store.root().string();
  list.model = store.model();
  std::vector<core::ListedVersion> rows;
  for (auto& row : core::list_summaries(store, &list.stages)) {
    if (has_tag(row, options.tag)) {
      rows.push_back(std::move(row));
    }
  }
  std::size_t start = 0;
  if (options.cursor) {
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const core::ListedVersion& row) {
      return row.version.name == *options.cursor;
    });
    if (it == rows.end()) {
      throw Error(ExitCode::not_found, "cursor " + *options.cursor + " names no version");
    }
    start = static_cast<std::size_t>(it - rows.begin()) + 1;
  }
  list.paged = options.limit > 0 || options.cursor.has_value();
  const std::size_t end = options.limit > 0 ? std::min(rows.size(), start + options.limit) : rows.size();
  list.rows.assign(std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(start)),
                   std::make_move_iterator(rows.begin() + static_cast<std::ptrdiff_t>(end)));
  if (end < rows.size() && !list.rows.empty()) {
    list.next_cursor = list.rows.back().version.name;
  }
  list.latest = core::read_latest_link(store);
  return list;
}

json ShownVersion::to_json() const
{
  json doc = meta.to_json();
  doc["path"] = version.path.string();
  doc["latest"] = latest;
  return doc;
}

ShownVersion show_version(const Session& session, const std::string& version)
{
  const auto ref = core::VersionRef::parse(version);
  const core::Store& store = session.existing();
  ShownVersion shown;
  shown.version = core::resolve_version(store, ref);
  shown.meta = core::load_metadata(shown.version.path);
  shown.latest = core::read_latest_link(store) == shown.version.name;
  return shown;
}

json StatusChange::to_json() const
{
  return {{"version", version}, {"status", status}};
}

StatusChange set_status(const Session& session, const StatusOptions& options)
{
  const auto ref = core::VersionRef::parse(options.version);
  const auto lock = session.lock("status");
  const auto version = core::resolve_version(session.store, ref);
  core::set_status(session.store, version, options.status, options.reason);
  return {version.name, options.status};
}

namespace {

bool valid_tag_key(const std::string& key)
{
  return !key.empty() &&
         key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string::npos;
}

/// Rewrites a version's metadata with `change` applied to its tags, under the lock, and logs it.
TagChange edit_tags(const Session& session, const std::string& version_text, core::EventKind event,
                    const std::function<void(std::map<std::string, std::string>&)>& change,
                    const json& detail)
{
  const auto ref = core::VersionRef::parse(version_text);
  const auto lock = session.lock(std::string(core::event_name(event)));
  const auto version = core::resolve_version(session.store, ref);
  auto meta = core::load_metadata(version.path);
  change(meta.tags);
  core::write_metadata(version.path, meta);
  json record = detail;
  record["version"] = version.name;
  core::append_event(session.store, event, record);
  core::refresh_indexes(session.store);
  return {version.name, meta.tags};
}

} // namespace

json TagChange::to_json() const
{
  return {{"version", version}, {"tags", tags}};
}

TagChange tag_version(const Session& session, const std::string& version,
                      const std::map<std::string, std::string>& tags)
{
  for (const auto& [key, value] : tags) {
    if (!valid_tag_key(key)) {
      throw Error(ExitCode::usage,
                  "invalid tag '" + key + "=" + value + "': use KEY=VALUE, KEY of [A-Za-z0-9_.-]");
    }
  }
  return edit_tags(session, version, core::EventKind::tag,
                   [&](std::map<std::string, std::string>& current) {
                     for (const auto& [key, value] : tags) {
                       current[key] = value;
                     }
                   },
                   {{"tags", tags}});
}

TagChange untag_version(const Session& session, const std::string& version,
                        const std::vector<std::string>& keys)
{
  return edit_tags(session, version, core::EventKind::untag,
                   [&](std::map<std::string, std::string>& current) {
                     for (const auto& key : keys) {
                       if (current.erase(key) == 0) {
                         throw Error(ExitCode::not_found, "no tag " + key + " on " + version);
                       }
                     }
                   },
                   {{"keys", keys}});
}

json NextVersions::to_json() const
{
  return {{"current", current ? json(current->to_string()) : json(nullptr)},
          {"major", major.to_string()},
          {"minor", minor.to_string()},
          {"patch", patch.to_string()}};
}

NextVersions next_versions(const Session& session)
{
  NextVersions next;
  next.current = core::highest_semver(session.existing());
  const core::SemVer base = next.current.value_or(core::SemVer{});
  next.major = base.bump("major");
  next.minor = base.bump("minor");
  next.patch = base.bump("patch");
  return next;
}

json History::to_json() const
{
  if (at) {
    json stages = json::object();
    for (const auto& [stage, holder] : holders) {
      stages[stage] = holder ? json(*holder) : json(nullptr);
    }
    return {{"at", *at}, {"stages", stages}};
  }
  return {{"events", events}};
}

History history(const Session& session, const HistoryOptions& options)
{
  const core::Store& store = session.existing();
  auto events = core::read_events(store);
  History result;
  if (options.at) {
    const auto time = util::parse_time_argument(*options.at);
    if (!time) {
      throw Error(ExitCode::usage, "invalid --at '" + *options.at +
                                       "': use a date or a time, e.g. 2025-11-18, 2025-11-18 09:00 (local), "
                                       "2025-11-18T09:00:00Z or 2025-11-18T10:00+01:00");
    }
    result.at = options.at;
    std::vector<std::string> stages;
    if (options.stage) {
      stages.push_back(*options.stage);
    } else {
      for (const auto& e : events) {
        if ((core::is_event(e, core::EventKind::promote) || core::is_event(e, core::EventKind::rollback)) &&
            std::find(stages.begin(), stages.end(), text_of(e, "stage")) == stages.end()) {
          stages.push_back(text_of(e, "stage"));
        }
      }
    }
    for (const auto& stage : stages) {
      result.holders.emplace_back(stage, core::holder_at(events, stage, *time));
    }
    return result;
  }
  std::optional<std::string> version_name;
  if (options.version) {
    version_name = version_for_history(store, *options.version, events);
  }
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if ((options.stage && text_of(*it, "stage") != *options.stage) ||
        (version_name && !concerns(*it, *version_name))) {
      continue;
    }
    result.events.push_back(*it);
  }
  return result;
}

namespace {

json field_or_null(const json& object, const std::string& key)
{
  const auto it = object.find(key);
  return it == object.end() ? json() : *it;
}

/// What changed from `parent` to `child`, in words.
std::vector<std::string> changes(const core::VersionMetadata& parent, const core::VersionMetadata& child)
{
  std::vector<std::string> out;
  if (child.training_data_hash != parent.training_data_hash) {
    // Which file: added, removed, or the same path with other content (size old -> new).
    std::map<std::string, const core::DataFile*> before;
    for (const auto& file : parent.training_data) {
      before[file.path] = &file;
    }
    std::vector<std::string> files;
    for (const auto& file : child.training_data) {
      const auto found = before.find(file.path);
      if (found == before.end()) {
        files.push_back("+" + file.path);
      } else {
        if (found->second->sha256 != file.sha256) {
          files.push_back(file.path + " (" + util::human_size(found->second->size) + " -> " +
                          util::human_size(file.size) + ", other content)");
        }
        before.erase(found);
      }
    }
    for (const auto& [path, file] : before) {
      files.push_back("-" + path);
    }
    out.push_back("training data changed" + (files.empty() ? std::string() : ": " + util::join(files, ", ")));
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
        const json before = field_or_null(parent.hyperparameters, key);
        const json after = field_or_null(child.hyperparameters, key);
        if (before != after) {
          keys += (keys.empty() ? "" : ", ") + key + " " + before.dump() + " -> " + after.dump();
        }
      }
    }
    out.push_back("hyperparameters changed" + (keys.empty() ? std::string() : ": " + keys));
  }
  if (child.base_model != parent.base_model || child.base_model_digest != parent.base_model_digest) {
    out.push_back("base model " + (parent.base_model.empty() ? "-" : parent.base_model) + " -> " +
                  (child.base_model.empty() ? "-" : child.base_model));
  }
  if (child.steps != parent.steps && child.steps && parent.steps) {
    out.push_back("steps " + std::to_string(*parent.steps) + " -> " + std::to_string(*child.steps));
  }
  for (const auto& [name, value] : child.metrics) {
    if (const auto old = parent.metrics.find(name); old != parent.metrics.end() && old->second != value) {
      out.push_back(name + " " + json(old->second).dump() + " -> " + json(value).dump());
    }
  }
  if (child.manifest.digest() == parent.manifest.digest()) {
    out.emplace_back("same adapter content");
  }
  return out;
}

} // namespace

json Lineage::to_json() const
{
  json doc = {{"chain", json::array()}};
  for (const auto& step : chain) {
    json item = {{"name", step.name}, {"description", step.description}};
    if (step.changes) {
      item["changes"] = *step.changes;
    }
    doc["chain"].push_back(std::move(item));
  }
  return doc;
}

Lineage lineage(const Session& session, const std::string& version)
{
  const core::Store& store = session.existing();
  const auto start = core::resolve_version(store, core::VersionRef::parse(version));
  std::vector<core::VersionMetadata> chain{core::load_metadata(start.path)};
  std::set<std::string> seen{chain.back().name};
  while (!chain.back().parent_version.empty()) {
    const std::string parent = chain.back().parent_version;
    if (!seen.insert(parent).second) {
      throw Error(ExitCode::malformed, "lineage of " + version + " loops at " + parent);
    }
    const std::filesystem::path dir = store.versions_dir() / parent;
    if (!util::is_directory(dir)) {
      chain.emplace_back();
      chain.back().name = parent + " (deleted)";
      break;
    }
    chain.push_back(core::load_metadata(dir));
  }
  Lineage result;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    Lineage::Step step{chain[i].name, chain[i].description, std::nullopt};
    if (i + 1 < chain.size() && !chain[i + 1].id.empty()) {
      step.changes = changes(chain[i + 1], chain[i]);
    }
    result.chain.push_back(std::move(step));
  }
  return result;
}

json VersionComparison::to_json() const
{
  json files = json::array();
  for (const auto& f : diff.files) {
    json tensors = json::array();
    for (const auto& t : f.tensors) {
      tensors.push_back({{"name", t.name},
                         {"kind", t.kind},
                         {"detail", t.detail},
                         {"max_abs", t.max_abs},
                         {"rel_frobenius", t.rel_frobenius},
                         {"breaking", t.breaking}});
    }
    files.push_back({{"path", f.path},
                     {"kind", f.kind},
                     {"old_size", f.old_size},
                     {"new_size", f.new_size},
                     {"text_diff", f.text_diff},
                     {"tensors", tensors}});
  }
  return {{"files", files},
          {"breaking", !diff.breaking.empty()},
          {"breaking_changes", diff.breaking},
          {"metrics", diff.metrics},
          {"a", a},
          {"b", b}};
}

VersionComparison diff_versions(const Session& session, const std::string& a, const std::string& b)
{
  const core::Store& store = session.existing();
  const auto va = core::resolve_version(store, core::VersionRef::parse(a));
  const auto vb = core::resolve_version(store, core::VersionRef::parse(b));
  return {va.name, vb.name, core::diff_versions(va, vb)};
}

} // namespace modelkeep::commands
