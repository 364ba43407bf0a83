#include "core/versions/list_index.hpp"

#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"

#include <array>
#include <fcntl.h>
#include <map>
#include <set>
#include <type_traits>
#include <memory>
#include <mutex>
#include <sys/stat.h>
#include <unordered_map>

namespace modelkeep::core {

using nlohmann::json;

namespace {

json optional_number(const auto& value)
{
  return value ? json(*value) : json(nullptr);
}

/// "inode:size:mtime" of a metadata.json: every rewrite is a new file (renamed over the old).
/// `dir_fd`, when given, is the versions directory and `path` relative to it (no path walk
/// from the root for each of 10,000 versions).
std::string stamp_of(const fs::path& path, int dir_fd = AT_FDCWD)
{
  struct stat st {};
  if (::fstatat(dir_fd, path.c_str(), &st, 0) != 0) {
    return {};
  }
  return std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
         std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
}

} // namespace

VersionSummary VersionSummary::of(const VersionMetadata& meta)
{
  return {meta.created_at,
          meta.description,
          meta.manifest.file_count(),
          meta.manifest.total_size(),
          meta.steps,
          meta.final_loss,
          meta.metrics,
          meta.status,
          meta.semver,
          meta.tags,
          meta.manifest.digest(),
          meta.parent_version};
}

json VersionSummary::to_json() const
{
  return {{"created_at", created_at},
          {"description", description},
          {"file_count", file_count},
          {"total_size", total_size},
          {"steps", optional_number(steps)},
          {"final_loss", optional_number(final_loss)},
          {"metrics", metrics},
          {"status", status},
          {"semver", semver},
          {"tags", tags},
          {"manifest_digest", manifest_digest},
          {"parent_version", parent_version.empty() ? json(nullptr) : json(parent_version)}};
}

VersionSummary VersionSummary::from_json(const json& doc)
{
  VersionSummary s;
  s.created_at = doc.at("created_at").get<std::string>();
  s.description = doc.at("description").get<std::string>();
  s.file_count = doc.at("file_count").get<std::uint64_t>();
  s.total_size = doc.at("total_size").get<std::uint64_t>();
  if (!doc.at("steps").is_null()) {
    s.steps = doc["steps"].get<std::uint64_t>();
  }
  if (!doc.at("final_loss").is_null()) {
    s.final_loss = doc["final_loss"].get<double>();
  }
  s.metrics = doc.at("metrics").get<std::map<std::string, double>>();
  s.status = doc.at("status").get<std::string>();
  s.semver = doc.at("semver").get<std::string>();
  s.tags = doc.at("tags").get<std::map<std::string, std::string>>();
  s.manifest_digest = doc.at("manifest_digest").get<std::string>();
  // An entry written before parents were listed has none: at() throws, and that version's
  // metadata is read instead (the next write refreshes the entry).
  const json& parent = doc.at("parent_version");
  s.parent_version = parent.is_null() ? std::string() : parent.get<std::string>();
  return s;
}

namespace {

/// One entry of index.json as parsed: the metadata's stamp, the summary and its JSON text.
struct IndexEntry {
  std::string stamp;
  std::shared_ptr<const VersionSummary> summary;
  std::shared_ptr<const std::string> text;
};
using ParsedIndex = std::unordered_map<std::string, IndexEntry>;

/// Reads index.json straight into entries, field by field, without a document of 10,000
/// versions in between (building that document and freeing it was most of what `list` spent;
/// docs/performance.md). The layout is build_index's: {"schema_version": 1, "versions": {NAME:
/// {"stamp": S, "summary": {FIELD: VALUE, "metrics": {...}, "tags": {...}}}}, ...}. An entry
/// with a known field of the wrong type, or without one, is left out (that version's metadata
/// is read instead), as VersionSummary::from_json would refuse it; unknown keys are skipped.
class IndexReader final : public json::json_sax_t {
public:
  ParsedIndex entries;
  int schema = 0;
  bool has_versions = false;

  bool null() override { return scalar(nullptr); }
  bool boolean(bool) override { return scalar(Other{}); }
  bool number_integer(json::number_integer_t v) override
  {
    return v >= 0 ? scalar(static_cast<std::uint64_t>(v)) : scalar(static_cast<double>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) override { return scalar(static_cast<std::uint64_t>(v)); }
  bool number_float(json::number_float_t v, const std::string&) override { return scalar(static_cast<double>(v)); }
  bool string(json::string_t& v) override { return scalar(&v); }
  bool binary(json::binary_t&) override { return scalar(Other{}); }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool key(json::string_t& k) override
  {
    if (m_depth < static_cast<int>(m_keys.size())) {
      m_keys[m_depth] = std::move(k);
    }
    return true;
  }
  bool end_object() override
  {
    if (m_depth == 3 && m_active) {
      finish_entry();
    }
    --m_depth;
    return true;
  }
  bool end_array() override
  {
    --m_depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override
  {
    return false;
  }

private:
  struct Other {};
  struct Entry {
    std::string name;
    std::string stamp;
    bool has_stamp = false;
    bool has_summary = false;
    bool bad = false;
    std::set<std::string> seen;
    VersionSummary summary;
  };

  static bool is_map(const std::string& field) { return field == "metrics" || field == "tags"; }
  static bool is_scalar_field(const std::string& field)
  {
    static const std::set<std::string> fields = {"created_at", "description", "file_count",     "total_size",
                                                 "steps",      "final_loss",  "status",         "semver",
                                                 "manifest_digest", "parent_version"};
    return fields.count(field) != 0;
  }

  /// Where the value now read belongs: its depth and keys (depth 3: an entry's stamp or
  /// summary; 4: a summary field; 5: a metric or tag).
  [[nodiscard]] bool in_entry() const { return m_active && m_depth >= 3; }
  [[nodiscard]] bool in_summary() const { return in_entry() && m_depth >= 4 && m_keys[3] == "summary"; }

  bool open(bool object)
  {
    ++m_depth;
    if (m_depth == 2 && m_keys[1] == "versions") {
      has_versions = object;
    } else if (m_depth == 3 && m_keys[1] == "versions") {
      m_active = object;
      if (object) {
        m_entry = Entry{};
        m_entry.name = m_keys[2];
      }
    } else if (m_depth == 4 && in_entry()) {
      if (m_keys[3] == "summary" && object) {
        m_entry.has_summary = true;
      } else if (m_keys[3] == "summary" || m_keys[3] == "stamp") {
        m_entry.bad = true;
      }
    } else if (m_depth == 5 && in_summary()) {
      m_entry.seen.insert(m_keys[4]);
      m_entry.bad = m_entry.bad || is_scalar_field(m_keys[4]) || (is_map(m_keys[4]) && !object);
    } else if (m_depth >= 6 && in_summary()) {
      m_entry.bad = m_entry.bad || is_map(m_keys[4]); // a metric or tag that is not a value
    }
    return true;
  }

  template <typename T> bool scalar(T value)
  {
    if (m_depth == 1 && m_keys[1] == "schema_version") {
      if constexpr (std::is_same_v<T, std::uint64_t>) {
        schema = static_cast<int>(value);
      }
    } else if (m_depth == 3 && in_entry() && m_keys[3] == "stamp") {
      if constexpr (std::is_same_v<T, json::string_t*>) {
        m_entry.stamp = std::move(*value);
        m_entry.has_stamp = true;
      } else {
        m_entry.bad = true;
      }
    } else if (m_depth == 3 && in_entry() && m_keys[3] == "summary") {
      m_entry.bad = true;
    } else if (m_depth == 4 && in_summary()) {
      field(m_keys[4], value);
    } else if (m_depth == 5 && in_summary() && is_map(m_keys[4])) {
      entry_of_map(m_keys[4], m_keys[5], value);
    }
    return true;
  }

  template <typename T> void entry_of_map(const std::string& map, const std::string& name, T value)
  {
    if constexpr (std::is_same_v<T, json::string_t*>) {
      if (map == "tags") {
        m_entry.summary.tags.emplace(name, std::move(*value));
        return;
      }
    } else if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, double>) {
      if (map == "metrics") {
        m_entry.summary.metrics.emplace(name, static_cast<double>(value));
        return;
      }
    }
    m_entry.bad = true;
  }

  template <typename T> void field(const std::string& name, T value)
  {
    VersionSummary& s = m_entry.summary;
    m_entry.seen.insert(name);
    constexpr bool is_text = std::is_same_v<T, json::string_t*>;
    constexpr bool is_count = std::is_same_v<T, std::uint64_t>;
    constexpr bool is_number = is_count || std::is_same_v<T, double>;
    constexpr bool is_null = std::is_same_v<T, std::nullptr_t>;
    bool ok = true;
    if (name == "created_at" || name == "description" || name == "status" || name == "semver" ||
        name == "manifest_digest") {
      if constexpr (is_text) {
        std::string& target = name == "created_at"    ? s.created_at
                              : name == "description" ? s.description
                              : name == "status"      ? s.status
                              : name == "semver"      ? s.semver
                                                      : s.manifest_digest;
        target = std::move(*value);
      } else {
        ok = false;
      }
    } else if (name == "file_count" || name == "total_size") {
      if constexpr (is_count) {
        (name == "file_count" ? s.file_count : s.total_size) = value;
      } else {
        ok = false;
      }
    } else if (name == "steps") {
      if constexpr (is_count) {
        s.steps = value;
      } else if constexpr (!is_null) {
        ok = false;
      }
    } else if (name == "final_loss") {
      if constexpr (is_number) {
        s.final_loss = static_cast<double>(value);
      } else if constexpr (!is_null) {
        ok = false;
      }
    } else if (name == "parent_version") {
      if constexpr (is_text) {
        s.parent_version = std::move(*value);
      } else if constexpr (!is_null) {
        ok = false;
      }
    } else if (is_map(name)) {
      ok = false; // must be objects
    }
    m_entry.bad = m_entry.bad || !ok;
  }

  void finish_entry()
  {
    m_active = false;
    if (m_entry.bad || !m_entry.has_stamp || !m_entry.has_summary) {
      return;
    }
    for (const char* name : {"created_at", "description", "file_count", "total_size", "steps", "final_loss",
                             "metrics", "status", "semver", "tags", "manifest_digest", "parent_version"}) {
      if (m_entry.seen.count(name) == 0) {
        return; // written before that field was listed: the metadata is read instead
      }
    }
    entries.emplace(std::move(m_entry.name),
                    IndexEntry{std::move(m_entry.stamp),
                               std::make_shared<const VersionSummary>(std::move(m_entry.summary)), nullptr});
  }

  int m_depth = 0;
  bool m_active = false;              ///< inside an entry object of "versions"
  std::array<std::string, 8> m_keys;  ///< the key at each depth (deeper ones are not looked at)
  Entry m_entry;
};

/// The index's entries, or none if there is no usable index (it is a cache: anything wrong with
/// it only means the metadata is read instead).
ParsedIndex parse_index(const Store& store)
{
  for (const auto name : {filenames::list_index, filenames::legacy_list_index}) {
    try {
      const auto text = util::read_file_if_exists(store.versions_dir() / name, util::bytes(util::JsonLimit::log));
      if (!text) {
        continue;
      }
      IndexReader reader;
      if (json::sax_parse(*text, &reader) && reader.schema == 1 && reader.has_versions) {
        return std::move(reader.entries);
      }
    } catch (const Error&) {
    } catch (const json::exception&) {
    }
    break;
  }
  return {};
}

/// A long-lived process (the HTTP server, a serving process) lists the same stores again and
/// again: the parsed index is kept per file while the file is the same (inode, size, mtime).
/// Each version is still checked against its own metadata's stamp, so this changes what is
/// read, never what is listed.
std::shared_ptr<const ParsedIndex> cached_index(const Store& store)
{
  struct Cached {
    std::string stamp;
    std::shared_ptr<const ParsedIndex> parsed;
    bool texts = false;
  };
  static std::mutex mutex;
  static std::map<fs::path, Cached> cache;
  const fs::path path = store.versions_dir() / filenames::list_index;
  const std::string stamp = stamp_of(path);
  if (!stamp.empty()) {
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(path); it != cache.end() && it->second.stamp == stamp) {
      if (!it->second.texts) {
        // Listed a second time: a long-lived process, which answers in JSON again and again.
        // Each summary's JSON text is made once now, not per request (a one-shot `list`
        // never pays for it).
        auto with_texts = std::make_shared<ParsedIndex>(*it->second.parsed);
        for (auto& [name, entry] : *with_texts) {
          entry.text = std::make_shared<const std::string>(entry.summary->to_json().dump());
        }
        it->second = {stamp, std::move(with_texts), true};
      }
      return it->second.parsed;
    }
  }
  auto parsed = std::make_shared<const ParsedIndex>(parse_index(store));
  if (!stamp.empty()) {
    const std::lock_guard lock(mutex);
    if (cache.size() >= 64) {
      cache.clear(); // a process that lists many stores keeps the recent ones
    }
    cache[path] = {stamp, parsed, false};
  }
  return parsed;
}

} // namespace

std::vector<ListedVersion> list_summaries(const Store& store)
{
  const auto index = cached_index(store);
  std::vector<ListedVersion> listed;
  const int raw = ::open(store.versions_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const util::UniqueFd dir(raw);
  for (const auto& version : list_versions(store)) {
    ListedVersion item{version, nullptr, {}, nullptr};
    const std::string stamp = raw >= 0 ? stamp_of(fs::path(version.name) / filenames::metadata, dir.get())
                                       : stamp_of(version.path / filenames::metadata);
    if (const auto it = index->find(version.name);
        !stamp.empty() && it != index->end() && it->second.stamp == stamp) {
      item.summary = it->second.summary;
      item.summary_json = it->second.text;
    } else {
      try {
        item.summary =
            std::make_shared<const VersionSummary>(VersionSummary::of(load_metadata(version.path)));
      } catch (const Error& error) {
        item.error = error.what();
      }
    }
    listed.push_back(std::move(item));
  }
  return listed;
}

json build_index(const Store& store, bool full)
{
  const ParsedIndex old = full ? ParsedIndex() : parse_index(store);
  json doc = {{"schema_version", 1}, {"versions", json::object()}, {"stages", list_stages(store)}};
  const auto latest = read_latest_link(store);
  doc["latest"] = latest ? json(*latest) : json(nullptr);
  for (const auto& version : list_versions(store)) {
    const std::string stamp = stamp_of(version.path / filenames::metadata);
    json summary;
    if (const auto it = old.find(version.name); it != old.end() && !stamp.empty() && it->second.stamp == stamp) {
      summary = it->second.summary->to_json();
    } else {
      try {
        summary = VersionSummary::of(load_metadata(version.path)).to_json();
      } catch (const Error&) {
        continue; // unreadable metadata is reported by list and verify, never indexed
      }
    }
    doc["versions"][version.name] = {{"stamp", stamp}, {"summary", std::move(summary)}};
  }
  return doc;
}

void write_index(const Store& store, const json& index)
{
  util::write_file_atomic(store.versions_dir() / filenames::list_index, index.dump() + '\n');
  // The index of a release before 0.2, now stale; the new one is durable, so it can go.
  util::remove_all(store.versions_dir() / filenames::legacy_list_index);
}

} // namespace modelkeep::core
