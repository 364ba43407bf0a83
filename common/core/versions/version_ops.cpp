#include "core/versions/version_ops.hpp"

#include "core/layout/events.hpp"
#include "core/layout/store.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/json_file.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

namespace modelkeep::core {

using nlohmann::json;

namespace {

fs::path require_dir(const fs::path& path, const char* what)
{
  if (!util::exists(path)) {
    throw Error(ExitCode::not_found, std::string(what) + " not found " + path.string());
  }
  if (!util::is_directory(path)) {
    throw Error(ExitCode::usage, std::string(what) + " is not a directory " + path.string());
  }
  return fs::absolute(path).lexically_normal();
}

std::vector<DataFile> describe_data_files(const std::vector<fs::path>& paths)
{
  std::vector<DataFile> files;
  for (const auto& path : paths) {
    if (!util::is_regular_file(path)) {
      throw Error(ExitCode::not_found, "training data file not found " + path.string());
    }
    const fs::path absolute = fs::absolute(path).lexically_normal();
    files.push_back({absolute.string(), fs::file_size(absolute), util::sha256_file(absolute)});
  }
  return files;
}

std::string base_model_from_adapter(const fs::path& adapter)
{
  const fs::path config = adapter / "adapter_config.json";
  if (!util::is_regular_file(config)) {
    return {};
  }
  json doc;
  try {
    doc = util::read_json_file(config, util::JsonLimit::record, "adapter config");
  } catch (const Error& e) {
    if (e.code() != ExitCode::malformed) {
      throw;
    }
    return {}; // not ours to judge here: the version records the file as it is
  }
  if (doc.is_object() && doc.contains("base_model_name_or_path") &&
      doc["base_model_name_or_path"].is_string()) {
    return doc["base_model_name_or_path"].get<std::string>();
  }
  return {};
}

/// The next version number: never one used before, even by a deleted version.
std::uint64_t next_number(const Store& store)
{
  std::uint64_t next = 1;
  if (const auto newest = newest_version(store)) {
    next = newest->number + 1;
  }
  const fs::path counter = store.state_dir() / "next_version";
  if (util::exists(counter)) {
    std::uint64_t recorded = 0;
    std::string text = util::read_file(counter, 64);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    if (!util::parse_uint(text, recorded)) {
      throw Error(ExitCode::malformed, "malformed counter " + counter.string() + ": expected a number");
    }
    next = std::max(next, recorded);
  }
  return next;
}

std::optional<std::string> duplicate_of(const Store& store, const Manifest& manifest)
{
  const auto newest = newest_version(store);
  if (!newest) {
    return std::nullopt;
  }
  try {
    if (load_metadata(newest->path).manifest.digest() == manifest.digest()) {
      return newest->name;
    }
  } catch (const Error& error) {
    util::log_warning("cannot compare with " + newest->name + ": " + error.what());
  }
  return std::nullopt;
}

/// The semantic version a create records: explicit (refused if taken), bumped, or none.
std::string choose_semver(const Store& store, const CreateRequest& request)
{
  if (request.semver && request.bump) {
    throw Error(ExitCode::usage, "give --semver or --bump, not both");
  }
  if (request.semver) {
    const auto parsed = SemVer::parse(*request.semver);
    if (!parsed) {
      throw Error(ExitCode::usage,
                  "invalid --semver '" + *request.semver + "': use MAJOR.MINOR.PATCH[-pre][+build]");
    }
    for (const auto& version : list_versions(store)) {
      try {
        const auto have = SemVer::parse(load_metadata(version.path).semver);
        if (have && compare(*have, *parsed) == 0) {
          throw Error(ExitCode::refused, "semver " + *request.semver + " is already " + version.name);
        }
      } catch (const Error& error) {
        if (error.code() == ExitCode::refused) {
          throw;
        }
      }
    }
    return parsed->to_string();
  }
  if (request.bump) {
    return highest_semver(store).value_or(SemVer{}).bump(*request.bump).to_string();
  }
  return {};
}

void record_lineage(const CreateRequest& request, VersionMetadata& meta, StatCache& cache)
{
  if (request.hyperparams) {
    const fs::path path = *request.hyperparams;
    const auto doc = util::read_json_file(path, util::JsonLimit::record, "hyperparameters");
    meta.hyperparameters = doc;
    meta.hyperparameters_hash = util::sha256_hex(doc.dump());
  }
  if (!meta.training_data.empty()) {
    std::vector<std::string> digests;
    for (const auto& file : meta.training_data) {
      digests.push_back(file.sha256);
    }
    std::sort(digests.begin(), digests.end());
    std::string joined;
    for (const auto& d : digests) {
      joined += d + '\n';
    }
    meta.training_data_hash = util::sha256_hex(joined);
  }
  meta.samples = request.samples;
  meta.val_samples = request.val_samples;
  meta.training_seconds = request.training_seconds;
  if (!request.base_model.empty() && util::is_directory(request.base_model)) {
    meta.base_model_digest = hash_files_cached(scan_tree(request.base_model), cache, nullptr).digest();
  }
}

Manifest copy_sources(const Store& store, const CreateRequest& request,
                      const std::vector<SourceFile>& adapter_files,
                      const std::vector<SourceFile>& snapshot_files, const fs::path& dest, bool show_progress,
                      StatCache& cache, IngestStats& stats)
{
  const LinkMode mode = request.link.value_or(configured_link_mode(store));
  util::Progress progress("copying", total_size(adapter_files) + total_size(snapshot_files), show_progress);
  Manifest manifest =
      ingest_tree(store, adapter_files, dest / filenames::adapter, mode, cache, &progress, stats)
          .with_prefix(std::string(filenames::adapter) + '/');
  if (request.snapshots) {
    manifest.merge(
        ingest_tree(store, snapshot_files, dest / filenames::snapshots, mode, cache, &progress, stats)
            .with_prefix(std::string(filenames::snapshots) + '/'));
  }
  return manifest;
}

/// The bytes a create must be able to write: the files whose content may be new.
std::uint64_t bytes_to_store(const Store& store, const std::vector<SourceFile>& files, const StatCache& cache)
{
  std::uint64_t total = 0;
  for (const auto& file : files) {
    const auto stamp = FileStamp::of(file.absolute);
    const auto sha = stamp ? cache.lookup(file.absolute, *stamp) : std::nullopt;
    if (!sha || !util::exists(object_path(store, *sha))) {
      total += file.size;
    }
  }
  return total;
}

} // namespace

VersionMetadata create_version(const Store& store, const CreateRequest& request,
                               const std::string& tool_version, bool show_progress, IngestStats* stats)
{
  StatCache cache = StatCache::load(store);
  IngestStats ingest;
  if (request.description.empty()) {
    throw Error(ExitCode::usage, "--description must not be empty");
  }
  const fs::path adapter = require_dir(request.adapter, "adapter directory");
  const auto adapter_files = scan_input(adapter, "adapter directory");
  std::vector<SourceFile> snapshot_files;
  std::string snapshots_source;
  if (request.snapshots) {
    const fs::path snapshots = require_dir(*request.snapshots, "snapshots directory");
    snapshot_files = scan_tree(snapshots, Symlinks::inside_only);
    snapshots_source = snapshots.string();
  }
  VersionMetadata meta;
  meta.training_data = describe_data_files(request.data_files);
  meta.semver = choose_semver(store, request);
  record_lineage(request, meta, cache);
  if (request.parent) {
    meta.parent_version = resolve_version(store, *request.parent).name;
  } else if (const auto newest = newest_version(store)) {
    meta.parent_version = newest->name;
  }
  util::require_space(store.versions_dir(), bytes_to_store(store, adapter_files, cache) +
                                                bytes_to_store(store, snapshot_files, cache));

  const auto now = std::chrono::system_clock::now();
  meta.number = next_number(store);
  meta.id = version_id(meta.number);
  meta.name = version_dir_name(meta.number, now, request.description);
  const fs::path final_path = store.versions_dir() / meta.name;
  util::TempPath build(util::temp_path_for(final_path));
  util::create_directories(build.path());
  util::log_step("copying " + std::to_string(adapter_files.size() + snapshot_files.size()) + " files into " +
                 build.path().string());
  meta.manifest =
      copy_sources(store, request, adapter_files, snapshot_files, build.path(), show_progress, cache, ingest);
  util::log_step(std::to_string(ingest.files_linked) + " files linked to stored content, " +
                 std::to_string(ingest.files_stored) + " stored anew (" + link_mode_name(ingest.used) + ")");
  util::failpoint("create.after_copy");

  if (!request.allow_duplicate) {
    if (const auto duplicate = duplicate_of(store, meta.manifest)) {
      throw Error(ExitCode::refused, "content identical to " + *duplicate + " (same manifest digest " +
                                         meta.manifest.digest().substr(0, 12) +
                                         "); pass --allow-duplicate to keep it anyway");
    }
  }
  meta.created_at = util::utc_iso8601(now);
  meta.description = request.description;
  meta.source = adapter.string();
  meta.steps = request.steps;
  meta.final_loss = request.final_loss;
  meta.metrics = request.metrics;
  meta.base_model = request.base_model.empty() ? base_model_from_adapter(adapter) : request.base_model;
  meta.snapshots_source = snapshots_source;
  meta.evolution_snapshot_count = snapshot_files.size();
  meta.host = util::host_name();
  meta.user = util::user_name();
  meta.tool_version = tool_version;

  util::write_file_atomic(build.path() / filenames::metadata, meta.to_json().dump(2) + '\n', 0444);
  // Nothing is added to, removed from or rewritten in a version by accident (a save into
  // models/latest/adapter): its directories are read-only as well as its files.
  util::make_tree_read_only(build.path());
  util::fsync_dir(build.path());
  util::write_file_atomic(store.state_dir() / "next_version", std::to_string(meta.number + 1) + '\n');
  util::failpoint("create.before_rename");
  util::log_step("renaming into place as " + final_path.string());
  util::rename_durable(build.path(), final_path);
  build.commit();
  util::failpoint("create.after_rename");
  util::replace_symlink(store.versions_dir() / "latest", meta.name);
  util::failpoint("create.after_latest");
  cache.save(store);
  refresh_indexes(store);
  append_event(store, EventKind::create,
               {{"version", meta.name},
                {"manifest_digest", meta.manifest.digest()},
                {"files", meta.manifest.file_count()},
                {"size", meta.manifest.total_size()},
                {"source", meta.source}});
  if (stats != nullptr) {
    *stats = ingest;
  }
  return meta;
}

std::optional<SemVer> highest_semver(const Store& store)
{
  std::optional<SemVer> highest;
  for (const auto& version : list_versions(store)) {
    try {
      const auto have = SemVer::parse(load_metadata(version.path).semver);
      if (have && (!highest || compare(*have, *highest) > 0)) {
        highest = have;
      }
    } catch (const Error&) {
      continue;
    }
  }
  return highest;
}

Manifest source_manifest(const CreateRequest& request)
{
  const fs::path adapter = require_dir(request.adapter, "adapter directory");
  Manifest manifest = hash_files(scan_tree(adapter, Symlinks::inside_only), nullptr)
                          .with_prefix(std::string(filenames::adapter) + '/');
  if (request.snapshots) {
    const fs::path snapshots = require_dir(*request.snapshots, "snapshots directory");
    manifest.merge(hash_files(scan_tree(snapshots, Symlinks::inside_only), nullptr)
                       .with_prefix(std::string(filenames::snapshots) + '/'));
  }
  return manifest;
}

std::optional<VersionDir> find_version_by_digest(const Store& store, const std::string& digest)
{
  auto versions = list_versions(store);
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    try {
      if (load_metadata(it->path).manifest.digest() == digest) {
        return *it;
      }
    } catch (const Error&) {
      continue;
    }
  }
  return std::nullopt;
}

std::size_t prune_unreferenced_objects(const Store& store)
{
  std::set<std::string> referenced;
  for (const auto& version : list_versions(store)) {
    try {
      const VersionMetadata meta = load_metadata(version.path);
      for (const auto& file : meta.manifest.files()) {
        referenced.insert(file.sha256);
      }
    } catch (const Error& e) {
      util::log_warning("not pruning objects: " + std::string(e.what()));
      return 0;
    }
  }
  return prune_objects(store, referenced);
}

DeleteResult delete_version(const Store& store, const VersionDir& version, bool show_progress,
                            BackupFirst backup)
{
  DeleteResult result{version, {}};
  if (backup == BackupFirst::yes) {
    result.backup = create_verified_backup(store,
                                           {version.path,
                                            "deleted_versions",
                                            version.name,
                                            "delete " + version.name,
                                            {std::string(filenames::metadata)}},
                                           show_progress);
    util::failpoint("delete.after_backup");
    // The backup holds what is on disk; if that is not what the version recorded, deleting it
    // would keep only damaged content (perhaps the last copy of the real one): refuse, and
    // keep the version for `repair`.
    std::vector<std::string> damaged;
    try {
      const VersionMetadata recorded = load_metadata(version.path);
      for (const auto& file : recorded.manifest.files()) {
        const FileEntry* copied = result.backup.manifest.find(file.path);
        if (copied == nullptr || copied->sha256 != file.sha256) {
          damaged.push_back(file.path);
        }
      }
    } catch (const Error& e) {
      damaged.emplace_back(std::string("metadata.json: ") + e.what());
    }
    if (!damaged.empty()) {
      util::remove_all(result.backup.path);
      throw Error(ExitCode::refused, "refusing to delete " + version.name + ": it fails verification (" +
                                         util::join(damaged, ", ") +
                                         "); restore it with `model-versioner repair " + version.name +
                                         "` first, so that its backup holds what it recorded");
    }
    util::log_step("verified backup " + result.backup.path.string() + "; removing " + version.path.string());
  }
  const fs::path doomed = util::temp_path_for(version.path, "deleting");
  util::rename_durable(version.path, doomed);
  util::failpoint("delete.after_rename");
  repair_latest(store);
  util::remove_all(doomed);
  refresh_indexes(store);
  nlohmann::json event = {{"version", version.name}};
  event["backup"] =
      backup == BackupFirst::yes ? nlohmann::json(result.backup.path.string()) : nlohmann::json(nullptr);
  append_event(store, EventKind::delete_version, event);
  return result;
}

RestoreResult restore_version(const Store& store, const VersionDir& version, const VersionMetadata& metadata,
                              const fs::path& target, bool show_progress)
{
  const Manifest adapter = metadata.manifest.subtree(std::string(filenames::adapter) + '/');
  RestoreResult result =
      restore_tree(store, version.path / filenames::adapter, adapter, target, version.name, show_progress);
  json event = {{"version", version.name},
                {"target", result.target.string()},
                {"already_identical", result.already_identical}};
  if (result.backup_path) {
    event["backup"] = result.backup_path->string();
  }
  append_event(store, EventKind::restore, event);
  return result;
}

VersionCheck verify_version(const VersionDir& version, bool show_progress)
{
  VersionCheck check;
  check.version = version;
  VersionMetadata meta;
  try {
    meta = load_metadata(version.path);
  } catch (const Error& error) {
    check.metadata_error = error.what();
    return check;
  }
  if (meta.name != version.name) {
    check.metadata_error = "metadata.json names " + meta.name + ", not this directory";
    return check;
  }
  check.file_count = meta.manifest.file_count();
  check.total_size = meta.manifest.total_size();
  util::Progress progress("verifying " + meta.id, check.total_size, show_progress);
  check.files = check_tree(version.path, meta.manifest, &progress, {std::string(filenames::metadata)});
  return check;
}

void require_verified(const VersionDir& version, const std::string& action, bool show_progress)
{
  const auto check = verify_version(version, show_progress);
  if (!check.ok()) {
    throw Error(ExitCode::failed, "refusing to " + action + " " + version.name + ": it fails verification (" +
                                      (check.metadata_error ? *check.metadata_error : check.files.summary()) +
                                      "); run model-versioner verify");
  }
}

} // namespace modelkeep::core
