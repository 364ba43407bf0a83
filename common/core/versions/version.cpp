#include "core/versions/version.hpp"

#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace modelkeep::core {

using nlohmann::json;

namespace {

bool all_digits(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

VersionRef VersionRef::parse(std::string_view text)
{
  VersionRef ref;
  if (text == "latest") {
    ref.kind = Kind::latest;
    return ref;
  }
  if (parse_version_dir_name(text)) {
    ref.kind = Kind::name;
    ref.name = text;
    return ref;
  }
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == 'v' || digits.front() == 'V')) {
    digits.remove_prefix(1);
  }
  if (all_digits(digits) && util::parse_uint(digits, ref.number) && ref.number > 0) {
    ref.kind = Kind::number;
    return ref;
  }
  if (SemVer::parse(text)) {
    ref.kind = Kind::semver;
    ref.name = text;
    return ref;
  }
  if (is_stage_name(text)) {
    ref.kind = Kind::stage;
    ref.name = text;
    return ref;
  }
  throw Error(ExitCode::usage,
              "invalid version '" + util::printable(text) +
                  "': use a number (3, v3, v003), a version directory name, latest or a stage");
}

std::vector<VersionDir> list_versions(const Store& store, std::vector<std::string>& symlinks)
{
  std::vector<VersionDir> versions;
  const fs::path dir = store.versions_dir();
  (void)util::for_each_entry(dir, [&](const std::string& name, util::EntryKind kind) {
    if (util::is_temp_name(name)) {
      return;
    }
    if (kind == util::EntryKind::symlink) {
      symlinks.push_back(name);
    } else if (kind == util::EntryKind::directory) {
      if (const auto number = parse_version_dir_name(name)) {
        versions.push_back({*number, name, dir / name});
      }
    }
  });
  std::sort(versions.begin(), versions.end(),
            [](const VersionDir& a, const VersionDir& b) { return a.number < b.number; });
  return versions;
}

std::vector<VersionDir> list_versions(const Store& store)
{
  std::vector<std::string> symlinks;
  return list_versions(store, symlinks);
}

std::optional<VersionDir> newest_version(const Store& store)
{
  auto versions = list_versions(store);
  if (versions.empty()) {
    return std::nullopt;
  }
  return versions.back();
}

VersionDir resolve_version(const Store& store, const VersionRef& ref)
{
  const auto versions = list_versions(store);
  if (ref.kind == VersionRef::Kind::latest) {
    if (versions.empty()) {
      throw Error(ExitCode::not_found, "no versions in " + store.versions_dir().string());
    }
    return versions.back();
  }
  if (ref.kind == VersionRef::Kind::semver) {
    const SemVer wanted = *SemVer::parse(ref.name);
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      try {
        const auto meta = load_metadata(it->path);
        const auto have = SemVer::parse(meta.semver);
        if (have && compare(*have, wanted) == 0) {
          return *it;
        }
      } catch (const Error&) {
        continue;
      }
    }
    throw Error(ExitCode::not_found,
                "no version with semver " + ref.name + " in " + store.versions_dir().string());
  }
  if (ref.kind == VersionRef::Kind::stage) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(store.versions_dir() / ref.name, ec);
    for (const auto& version : versions) {
      if (!ec && version.name == target.filename().string()) {
        return version;
      }
    }
    throw Error(ExitCode::not_found,
                "no version or stage '" + ref.name + "' in " + store.versions_dir().string());
  }
  for (const auto& version : versions) {
    if ((ref.kind == VersionRef::Kind::number && version.number == ref.number) ||
        (ref.kind == VersionRef::Kind::name && version.name == ref.name)) {
      return version;
    }
  }
  const std::string wanted = ref.kind == VersionRef::Kind::number ? version_id(ref.number) : ref.name;
  throw Error(ExitCode::not_found, "no version " + wanted + " in " + store.versions_dir().string());
}

namespace {

[[noreturn]] void malformed(const fs::path& origin, const std::string& cause)
{
  throw Error(ExitCode::malformed, "malformed metadata " + origin.string() + ": " + cause);
}

template <typename T> T required(const json& doc, const char* key, const fs::path& origin)
{
  if (!doc.contains(key)) {
    malformed(origin, std::string("missing field '") + key + "'");
  }
  try {
    return doc.at(key).get<T>();
  } catch (const json::exception&) {
    malformed(origin, std::string("field '") + key + "' has the wrong type");
  }
}

std::string optional_string(const json& doc, const char* key, const fs::path& origin)
{
  if (!doc.contains(key) || doc[key].is_null()) {
    return {};
  }
  return required<std::string>(doc, key, origin);
}

} // namespace

json VersionMetadata::to_json() const
{
  json data = json::array();
  for (const auto& file : training_data) {
    data.push_back({{"path", file.path}, {"size", file.size}, {"sha256", file.sha256}});
  }
  json doc = {
      {"schema_version", k_schema_version},
      {"id", id},
      {"number", number},
      {"name", name},
      {"created_at", created_at},
      {"description", description},
      {"source", source},
      {"training_data", data},
      {"steps", steps ? json(*steps) : json(nullptr)},
      {"final_loss", final_loss ? json(*final_loss) : json(nullptr)},
      {"metrics", metrics},
      {"base_model", base_model.empty() ? json(nullptr) : json(base_model)},
      {"parent_version", parent_version.empty() ? json(nullptr) : json(parent_version)},
      {"snapshots_source", snapshots_source.empty() ? json(nullptr) : json(snapshots_source)},
      {"evolution_snapshot_count", evolution_snapshot_count},
      {"file_count", manifest.file_count()},
      {"total_size", manifest.total_size()},
      {"manifest_digest", manifest.digest()},
      {"files", manifest.to_json()},
      {"host", host},
      {"user", user},
      {"tool_version", tool_version},
      {"status", status},
      {"semver", semver.empty() ? json(nullptr) : json(semver)},
      {"tags", tags},
      {"hyperparameters", hyperparameters},
      {"hyperparameters_hash", hyperparameters_hash.empty() ? json(nullptr) : json(hyperparameters_hash)},
      {"training_data_hash", training_data_hash.empty() ? json(nullptr) : json(training_data_hash)},
      {"samples", samples ? json(*samples) : json(nullptr)},
      {"val_samples", val_samples ? json(*val_samples) : json(nullptr)},
      {"training_seconds", training_seconds ? json(*training_seconds) : json(nullptr)},
      {"base_model_digest", base_model_digest.empty() ? json(nullptr) : json(base_model_digest)},
  };
  return doc;
}

VersionMetadata VersionMetadata::from_json(const json& doc, const fs::path& origin)
{
  if (!doc.is_object()) {
    malformed(origin, "not a JSON object");
  }
  const int schema = required<int>(doc, "schema_version", origin);
  if (schema < 1 || schema > k_schema_version) {
    malformed(origin, "schema_version " + std::to_string(schema) + " is not supported by this modelkeep");
  }
  VersionMetadata meta;
  meta.id = required<std::string>(doc, "id", origin);
  meta.number = required<std::uint64_t>(doc, "number", origin);
  meta.name = required<std::string>(doc, "name", origin);
  meta.created_at = required<std::string>(doc, "created_at", origin);
  meta.description = required<std::string>(doc, "description", origin);
  meta.source = optional_string(doc, "source", origin);
  for (const auto& item : required<json>(doc, "training_data", origin)) {
    meta.training_data.push_back({required<std::string>(item, "path", origin),
                                  required<std::uint64_t>(item, "size", origin),
                                  required<std::string>(item, "sha256", origin)});
  }
  if (doc.contains("steps") && !doc["steps"].is_null()) {
    meta.steps = required<std::uint64_t>(doc, "steps", origin);
  }
  if (doc.contains("final_loss") && !doc["final_loss"].is_null()) {
    meta.final_loss = required<double>(doc, "final_loss", origin);
  }
  if (doc.contains("metrics")) {
    meta.metrics = required<std::map<std::string, double>>(doc, "metrics", origin);
  }
  meta.base_model = optional_string(doc, "base_model", origin);
  meta.parent_version = optional_string(doc, "parent_version", origin);
  meta.snapshots_source = optional_string(doc, "snapshots_source", origin);
  meta.evolution_snapshot_count = doc.value("evolution_snapshot_count", std::uint64_t{0});
  meta.manifest = Manifest::from_json(required<json>(doc, "files", origin), origin);
  meta.host = optional_string(doc, "host", origin);
  meta.user = optional_string(doc, "user", origin);
  meta.tool_version = optional_string(doc, "tool_version", origin);
  meta.status = optional_string(doc, "status", origin);
  if (meta.status.empty()) {
    meta.status = "staging";
  }
  meta.semver = optional_string(doc, "semver", origin);
  if (!meta.semver.empty() && !SemVer::parse(meta.semver)) {
    malformed(origin, "semver '" + meta.semver + "' is not a semantic version");
  }
  if (doc.contains("tags") && !doc["tags"].is_null()) {
    meta.tags = required<std::map<std::string, std::string>>(doc, "tags", origin);
  }
  meta.hyperparameters = doc.value("hyperparameters", json(nullptr));
  meta.hyperparameters_hash = optional_string(doc, "hyperparameters_hash", origin);
  meta.training_data_hash = optional_string(doc, "training_data_hash", origin);
  if (doc.contains("samples") && !doc["samples"].is_null()) {
    meta.samples = required<std::uint64_t>(doc, "samples", origin);
  }
  if (doc.contains("val_samples") && !doc["val_samples"].is_null()) {
    meta.val_samples = required<std::uint64_t>(doc, "val_samples", origin);
  }
  if (doc.contains("training_seconds") && !doc["training_seconds"].is_null()) {
    meta.training_seconds = required<double>(doc, "training_seconds", origin);
  }
  meta.base_model_digest = optional_string(doc, "base_model_digest", origin);

  if (meta.id != version_id(meta.number) || parse_version_dir_name(meta.name) != meta.number) {
    malformed(origin, "id, number and name disagree");
  }
  if (required<std::uint64_t>(doc, "file_count", origin) != meta.manifest.file_count() ||
      required<std::uint64_t>(doc, "total_size", origin) != meta.manifest.total_size() ||
      required<std::string>(doc, "manifest_digest", origin) != meta.manifest.digest()) {
    malformed(origin, "file_count, total_size or manifest_digest disagree with the file list");
  }
  return meta;
}

void write_metadata(const fs::path& version_dir, const VersionMetadata& meta)
{
  const util::WritableDir writable(version_dir);
  util::write_file_atomic(version_dir / filenames::metadata, meta.to_json().dump(2) + '\n', 0444,
                          version_dir.parent_path());
}

VersionMetadata load_metadata(const fs::path& version_dir)
{
  const fs::path path = version_dir / filenames::metadata;
  if (!util::exists(path)) {
    throw Error(ExitCode::malformed, "missing metadata " + path.string() + ": the version is incomplete");
  }
  return VersionMetadata::from_json(util::read_json_file(path, util::JsonLimit::record, "metadata"), path);
}

} // namespace modelkeep::core
