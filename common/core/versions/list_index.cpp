#include "core/versions/list_index.hpp"

#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"

#include <fcntl.h>
#include <map>
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

/// The list index on disk (index.json, or registry.json as a release before 0.2 wrote it), or
/// null if there is none or it cannot be used: it is a cache, so anything wrong with it only
/// means the metadata is read instead.
json read_index(const Store& store)
{
  for (const auto name : {filenames::list_index, filenames::legacy_list_index}) {
    try {
      auto text = util::read_file_if_exists(store.versions_dir() / name, util::bytes(util::JsonLimit::log));
      if (!text) {
        continue;
      }
      // Not const: returned by move, not deep-copied (10,000 entries).
      json doc = json::parse(*text, nullptr, false);
      if (doc.is_object() && doc.value("schema_version", 0) == 1 && doc.contains("versions") &&
          doc["versions"].is_object()) {
        return doc;
      }
    } catch (const Error&) {
    }
    break;
  }
  return json();
}

/// The summary from a fresh index entry, if there is one.
std::optional<VersionSummary> from_index(const json& index, const VersionDir& version,
                                         const std::string& stamp)
{
  if (index.is_null() || stamp.empty()) {
    return std::nullopt;
  }
  const auto it = index["versions"].find(version.name);
  if (it == index["versions"].end() || !it->is_object() || it->value("stamp", "") != stamp) {
    return std::nullopt;
  }
  try {
    return VersionSummary::from_json((*it)["summary"]);
  } catch (const json::exception&) {
    return std::nullopt;
  }
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

ParsedIndex parse_index(const json& index)
{
  ParsedIndex parsed;
  if (index.is_null()) {
    return parsed;
  }
  for (const auto& [name, entry] : index["versions"].items()) {
    try {
      if (entry.is_object() && entry.contains("stamp") && entry["stamp"].is_string()) {
        auto summary = std::make_shared<const VersionSummary>(VersionSummary::from_json(entry["summary"]));
        auto text = std::make_shared<const std::string>(summary->to_json().dump());
        parsed.emplace(name,
                       IndexEntry{entry["stamp"].get<std::string>(), std::move(summary), std::move(text)});
      }
    } catch (const json::exception&) {
      // an entry that does not parse only means that version's metadata is read
    }
  }
  return parsed;
}

/// A long-lived process (the HTTP server, a serving process) lists the same stores again and
/// again: the parsed index is kept per file while the file is the same (inode, size, mtime).
/// Each version is still checked against its own metadata's stamp, so this changes what is
/// read, never what is listed.
std::shared_ptr<const ParsedIndex> cached_index(const Store& store)
{
  static std::mutex mutex;
  static std::map<fs::path, std::pair<std::string, std::shared_ptr<const ParsedIndex>>> cache;
  const fs::path path = store.versions_dir() / filenames::list_index;
  const std::string stamp = stamp_of(path);
  if (!stamp.empty()) {
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(path); it != cache.end() && it->second.first == stamp) {
      return it->second.second;
    }
  }
  auto parsed = std::make_shared<const ParsedIndex>(parse_index(read_index(store)));
  if (!stamp.empty()) {
    const std::lock_guard lock(mutex);
    if (cache.size() >= 64) {
      cache.clear(); // a process that lists many stores keeps the recent ones
    }
    cache[path] = {stamp, parsed};
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
  const json old = full ? json() : read_index(store);
  json doc = {{"schema_version", 1}, {"versions", json::object()}, {"stages", list_stages(store)}};
  const auto latest = read_latest_link(store);
  doc["latest"] = latest ? json(*latest) : json(nullptr);
  for (const auto& version : list_versions(store)) {
    const std::string stamp = stamp_of(version.path / filenames::metadata);
    auto summary = from_index(old, version, stamp);
    if (!summary) {
      try {
        summary = VersionSummary::of(load_metadata(version.path));
      } catch (const Error&) {
        continue; // unreadable metadata is reported by list and verify, never indexed
      }
    }
    doc["versions"][version.name] = {{"stamp", stamp}, {"summary", summary->to_json()}};
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
