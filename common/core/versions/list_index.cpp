#include "core/versions/list_index.hpp"

#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/parallel.hpp"

#include <array>
#include <charconv>
#include <fcntl.h>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <simdjson.h>
#include <string_view>
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
/// Made in place, without an allocation (list makes 10,000 of them).
class Stamp {
public:
  Stamp() = default;
  /// Of `path`, relative to `dir_fd` when given (the versions directory: no path walk from
  /// the root for each of 10,000 versions); empty if it cannot be stat'ed.
  explicit Stamp(const char* path, int dir_fd = AT_FDCWD)
  {
    struct stat st {};
    if (::fstatat(dir_fd, path, &st, 0) != 0) {
      return;
    }
    char* at = m_text.data();
    char* const end = at + m_text.size();
    const auto put = [&](auto number, char after) {
      at = std::to_chars(at, end, number).ptr;
      if (after != '\0') {
        *at++ = after;
      }
    };
    put(static_cast<std::uint64_t>(st.st_ino), ':');
    put(static_cast<std::int64_t>(st.st_size), ':');
    put(static_cast<std::int64_t>(st.st_mtim.tv_sec), '.');
    put(static_cast<std::int64_t>(st.st_mtim.tv_nsec), '\0');
    m_size = static_cast<std::size_t>(at - m_text.data());
  }
  [[nodiscard]] std::string_view view() const { return {m_text.data(), m_size}; }
  [[nodiscard]] bool empty() const { return m_size == 0; }

private:
  std::array<char, 96> m_text{}; // four numbers of at most 20 digits and three separators
  std::size_t m_size = 0;
};

std::string stamp_of(const fs::path& path)
{
  return std::string(Stamp(path.c_str()).view());
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

namespace {

/// One entry of index.json as parsed: the metadata's stamp, the summary and its JSON text.
struct IndexEntry {
  std::string stamp;
  std::shared_ptr<const VersionSummary> summary;
  std::shared_ptr<const std::string> text;
};
using ParsedIndex = std::unordered_map<std::string, IndexEntry>;

/// The summary's fields (VersionSummary::to_json()), by bit.
enum Field : unsigned {
  created_at,
  description,
  file_count,
  total_size,
  steps,
  final_loss,
  metrics,
  status,
  semver,
  tags,
  manifest_digest,
  parent_version,
  unknown,
};
constexpr unsigned k_all_fields = (1U << unknown) - 1;

Field field_of(std::string_view name)
{
  static constexpr std::array<std::string_view, unknown> names = {
      "created_at", "description", "file_count", "total_size", "steps",          "final_loss",
      "metrics",    "status",      "semver",     "tags",       "manifest_digest", "parent_version"};
  for (unsigned i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      return static_cast<Field>(i);
    }
  }
  return unknown;
}

using simdjson::dom::element;

bool read_text(element value, std::string& target)
{
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) {
    return false;
  }
  target.assign(text);
  return true;
}

bool read_number(element value, double& target)
{
  return value.is_number() && value.get(target) == simdjson::SUCCESS;
}

/// metrics (numbers) or tags (texts): false unless an object of such values.
bool read_map(element value, Field which, VersionSummary& s)
{
  simdjson::dom::object map;
  if (value.get(map) != simdjson::SUCCESS) {
    return false;
  }
  for (const auto item : map) {
    if (which == metrics) {
      double number = 0;
      if (!read_number(item.value, number)) {
        return false;
      }
      s.metrics.emplace(std::string(item.key), number);
    } else {
      std::string text;
      if (!read_text(item.value, text)) {
        return false;
      }
      s.tags.emplace(std::string(item.key), std::move(text));
    }
  }
  return true;
}

/// One field of a summary into `s`; false if its value has the wrong type.
bool read_field(Field name, element value, VersionSummary& s)
{
  switch (name) {
  case created_at:
    return read_text(value, s.created_at);
  case description:
    return read_text(value, s.description);
  case status:
    return read_text(value, s.status);
  case semver:
    return read_text(value, s.semver);
  case manifest_digest:
    return read_text(value, s.manifest_digest);
  case file_count:
    return value.get(s.file_count) == simdjson::SUCCESS;
  case total_size:
    return value.get(s.total_size) == simdjson::SUCCESS;
  case steps: {
    std::uint64_t count = 0;
    if (value.is_null()) {
      return true;
    }
    if (value.get(count) != simdjson::SUCCESS) {
      return false;
    }
    s.steps = count;
    return true;
  }
  case final_loss: {
    double loss = 0;
    if (value.is_null()) {
      return true;
    }
    if (!read_number(value, loss)) {
      return false;
    }
    s.final_loss = loss;
    return true;
  }
  case parent_version:
    return value.is_null() || read_text(value, s.parent_version);
  case metrics:
  case tags:
    return read_map(value, name, s);
  case unknown:
    return true; // a key of a later release: skipped
  }
  return true;
}

/// A summary as build_index wrote it, or false: a known field of the wrong type or missing
/// (an entry of an older release lacks
/// parent_version). Unknown keys are skipped.
bool read_summary(simdjson::dom::object object, VersionSummary& s)
{
  unsigned seen = 0;
  for (const auto field : object) {
    const Field name = field_of(field.key);
    if (!read_field(name, field.value, s)) {
      return false;
    }
    if (name != unknown) {
      seen |= 1U << name;
    }
  }
  return seen == k_all_fields;
}

/// The index's entries, or none if there is no usable index (it is a cache: anything wrong with
/// it only means the metadata is read instead). The layout is build_index's: {"schema_version":
/// 1, "versions": {NAME: {"stamp": S, "summary": {...}}}, ...}; an entry that is not exactly
/// that is left out, and its version's metadata read instead. Parsed with simdjson: the index
/// of 10,000 versions is 2.5 MB, and `list` was bound by parsing it (docs/performance.md).
ParsedIndex parse_index(const Store& store)
{
  ParsedIndex entries;
  for (const auto name : {filenames::list_index, filenames::legacy_list_index}) {
    std::optional<std::string> text;
    try {
      text = util::read_file_if_exists(store.versions_dir() / name, util::bytes(util::JsonLimit::log));
    } catch (const Error&) {
      break;
    }
    if (!text) {
      continue;
    }
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(*text);
    simdjson::dom::object doc;
    std::uint64_t schema = 0;
    simdjson::dom::object versions;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS ||
        doc["schema_version"].get(schema) != simdjson::SUCCESS || schema != 1 ||
        doc["versions"].get(versions) != simdjson::SUCCESS) {
      break;
    }
    entries.reserve(versions.size());
    for (const auto version : versions) {
      simdjson::dom::object entry;
      std::string_view stamp;
      simdjson::dom::object summary_json;
      VersionSummary summary;
      if (version.value.get(entry) != simdjson::SUCCESS || entry["stamp"].get(stamp) != simdjson::SUCCESS ||
          entry["summary"].get(summary_json) != simdjson::SUCCESS || !read_summary(summary_json, summary)) {
        continue;
      }
      entries.emplace(std::string(version.key),
                      IndexEntry{std::string(stamp), std::make_shared<const VersionSummary>(std::move(summary)),
                                 nullptr});
    }
    break;
  }
  return entries;
}

/// A long-lived process (the HTTP server, a serving process) lists the same stores again and
/// again: the parsed index is kept per file while the file is the same (inode, size, mtime).
/// Each version is still checked against its own metadata's stamp, so this changes what is
/// read, never what is listed.
class IndexCache {
public:
  /// The parsed index of `store` if this process holds it for the file as it is now.
  static std::shared_ptr<const ParsedIndex> find(const fs::path& path, const std::string& stamp)
  {
    if (stamp.empty()) {
      return nullptr;
    }
    const std::lock_guard lock(mutex());
    const auto it = cache().find(path);
    if (it == cache().end() || it->second.stamp != stamp) {
      return nullptr;
    }
    if (!it->second.texts) {
      // Listed a second time: a long-lived process, which answers in JSON again and again.
      // Each summary's JSON text is made once now, not per request (a one-shot `list` never
      // pays for it).
      auto with_texts = std::make_shared<ParsedIndex>(*it->second.parsed);
      for (auto& [name, entry] : *with_texts) {
        entry.text = std::make_shared<const std::string>(entry.summary->to_json().dump());
      }
      it->second = {stamp, std::move(with_texts), true};
    }
    return it->second.parsed;
  }

  static std::shared_ptr<const ParsedIndex> parse(const Store& store, const fs::path& path, const std::string& stamp)
  {
    auto parsed = std::make_shared<const ParsedIndex>(parse_index(store));
    if (!stamp.empty()) {
      const std::lock_guard lock(mutex());
      if (cache().size() >= 64) {
        cache().clear(); // a process that lists many stores keeps the recent ones
      }
      cache()[path] = {stamp, parsed, false};
    }
    return parsed;
  }

private:
  struct Cached {
    std::string stamp;
    std::shared_ptr<const ParsedIndex> parsed;
    bool texts = false;
  };
  static std::mutex& mutex()
  {
    static std::mutex m;
    return m;
  }
  // Never destroyed: a one-shot `list` would spend milliseconds at exit freeing the summaries
  // of 10,000 versions (the memory goes back with the process).
  static std::map<fs::path, Cached>& cache()
  {
    static auto* c = new std::map<fs::path, Cached>;
    return *c;
  }
};

} // namespace

std::vector<ListedVersion> list_summaries(const Store& store, std::map<std::string, std::string>* stages)
{
  const fs::path index_path = store.versions_dir() / filenames::list_index;
  const std::string index_stamp = stamp_of(index_path);
  auto index = IndexCache::find(index_path, index_stamp);
  // Not held: parse the index on a second thread while this one lists the directory and
  // stats each version's metadata (about as long as the parse for 10,000 versions).
  std::future<std::shared_ptr<const ParsedIndex>> parsing;
  if (!index) {
    parsing = std::async(std::launch::async, [&] { return IndexCache::parse(store, index_path, index_stamp); });
  }
  std::vector<std::string> symlinks;
  const auto versions = list_versions(store, symlinks);
  if (stages != nullptr) {
    *stages = list_stages(store, symlinks);
  }
  std::vector<Stamp> stamps(versions.size());
  {
    const int raw = ::open(store.versions_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const util::UniqueFd dir(raw);
    // Two halves on two threads (with the parse, three on what is usually two cores: the
    // stats wait on the kernel's path lookups as much as they compute).
    constexpr std::size_t k_parts = 2;
    util::parallel_for(k_parts, versions.size() >= 1000 ? 2 : 1, [&](std::size_t part) {
      std::string relative;
      for (std::size_t i = part; i < versions.size(); i += k_parts) {
        if (raw >= 0) {
          relative.assign(versions[i].name).append("/").append(filenames::metadata);
          stamps[i] = Stamp(relative.c_str(), raw);
        } else {
          stamps[i] = Stamp((versions[i].path / filenames::metadata).c_str());
        }
      }
    });
  }
  if (parsing.valid()) {
    index = parsing.get();
  }
  std::vector<ListedVersion> listed;
  listed.reserve(versions.size());
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& version = versions[i];
    ListedVersion item{version, nullptr, {}, nullptr};
    if (const auto it = index->find(version.name);
        !stamps[i].empty() && it != index->end() && it->second.stamp == stamps[i].view()) {
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
