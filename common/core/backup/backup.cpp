#include "core/backup/backup.hpp"

#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/tree/archive.hpp"
#include "util/clock.hpp"
#include "util/enum_names.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
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

constexpr std::string_view k_formats[] = {"dir", "tar", "tar.zst"};
constexpr std::string_view k_data_names[] = {filenames::backup_data, filenames::backup_tar,
                                             filenames::backup_tar_zst};

} // namespace

std::string_view format_name(BackupFormat format)
{
  return util::enum_name(k_formats, format);
}

BackupFormat parse_format(std::string_view text)
{
  if (const auto format = util::parse_enum<BackupFormat>(k_formats, text)) {
    return *format;
  }
  throw Error(ExitCode::usage,
              "invalid backup format '" + util::printable(text) + "': use " + util::choices(k_formats));
}

fs::path BackupInfo::data_path() const
{
  return path / util::enum_name(k_data_names, format);
}

namespace {

/// A name in `dir` not taken yet: base, then base_2, base_3, ...
fs::path unused_path(const fs::path& dir, const std::string& base)
{
  fs::path candidate = dir / base;
  for (int n = 2; util::exists_no_follow(candidate); ++n) {
    candidate = dir / (base + '_' + std::to_string(n));
  }
  return candidate;
}

void require_critical_files(const std::vector<SourceFile>& files, const BackupRequest& request)
{
  for (const auto& critical : request.critical_files) {
    const bool present = std::any_of(files.begin(), files.end(),
                                     [&](const SourceFile& file) { return file.relative == critical; });
    if (!present) {
      throw Error(ExitCode::failed, "critical file missing " + (request.source / critical).string() +
                                        ": the backup would be incomplete");
    }
  }
}

json verification_record(const BackupCheck& check)
{
  return VerificationRecord{}.apply(check.depth, check.checks, check.problems, util::utc_now_iso8601()).to_json();
}

json backup_document(const BackupInfo& info, const BackupCheck& check)
{
  return {
      {"schema_version", 1},
      {"name", info.name},
      {"type", info.type},
      {"source", info.source},
      {"reason", info.reason},
      {"created_at", info.created_at},
      {"host", info.host},
      {"user", info.user},
      {"format", format_name(info.format)},
      {"file_count", info.manifest.file_count()},
      {"total_size", info.manifest.total_size()},
      {"manifest_digest", info.manifest.digest()},
      {"files", info.manifest.to_json()},
      {"critical_files", info.critical_files},
      {"verification", verification_record(check)},
  };
}

Manifest write_data(const std::vector<SourceFile>& files, const BackupInfo& info, int level,
                    bool show_progress)
{
  util::Progress progress("backing up", total_size(files), show_progress);
  switch (info.format) {
  case BackupFormat::tar:
    return write_archive(files, info.data_path(), Compression::none, 0, &progress);
  case BackupFormat::tar_zst:
    return write_archive(files, info.data_path(), Compression::zstd, level, &progress);
  case BackupFormat::dir:
    break;
  }
  return copy_tree(files, info.data_path(), &progress, util::DropCache::yes);
}

} // namespace

BackupRecord create_verified_backup(const Store& store, const BackupRequest& request, bool show_progress)
{
  validate_backup_type(request.type);
  if (!util::is_directory(request.source)) {
    throw Error(ExitCode::not_found, "cannot back up " + request.source.string() + ": not a directory");
  }
  const auto files = scan_input(request.source, "backup source");
  require_critical_files(files, request);
  const fs::path type_dir = store.backups_dir() / request.type;
  util::create_directories(type_dir);
  util::require_space(type_dir, total_size(files));

  const auto now = std::chrono::system_clock::now();
  const fs::path final_path =
      unused_path(type_dir, util::slugify(request.name) + '_' + util::utc_compact(now));
  util::TempPath temp(util::temp_path_for(final_path));
  util::create_directories(temp.path());
  BackupInfo info;
  info.path = temp.path();
  info.type = request.type;
  info.name = final_path.filename().string();
  info.source = fs::absolute(request.source).lexically_normal().string();
  info.reason = request.reason;
  info.created_at = util::utc_iso8601(now);
  info.host = util::host_name();
  info.user = util::user_name();
  info.format = request.format;
  info.critical_files = request.critical_files;
  info.manifest = write_data(files, info, request.level, show_progress);
  util::failpoint("backup.after_copy");

  util::log_step("reading the backup back from disk to verify it");
  util::Progress progress("verifying backup", info.manifest.total_size(), show_progress);
  const BackupCheck check = verify_backup(info, Hashing::yes, &progress, util::ReadFrom::device);
  progress.finish();
  if (!check.ok()) {
    throw Error(ExitCode::failed, "backup verification failed for " + request.source.string() + ": " +
                                      util::join(check.problems, "; "));
  }
  util::failpoint("backup.after_verify");
  util::log_step("backup verified: " + std::to_string(info.manifest.file_count()) +
                 " files, count, sizes and SHA-256 match");

  util::write_file_atomic(temp.path() / filenames::backup_record,
                          backup_document(info, check).dump(2) + '\n');
  util::fsync_dir(temp.path());
  util::rename_durable(temp.path(), final_path);
  temp.commit();
  util::failpoint("backup.after_rename");
  return {final_path, info.created_at, info.manifest};
}

std::vector<std::string> default_critical_files(const fs::path& source)
{
  static constexpr const char* k_known[] = {"adapter_config.json", "adapter_model.safetensors",
                                            "adapter_model.bin",   "config.json",
                                            "model.safetensors",   "model.safetensors.index.json"};
  std::vector<std::string> critical;
  for (const char* name : k_known) {
    if (util::is_regular_file(source / name)) {
      critical.emplace_back(name);
    }
  }
  const auto has = [&](const char* name) {
    return std::find(critical.begin(), critical.end(), name) != critical.end();
  };
  if (has("adapter_config.json") && !has("adapter_model.safetensors") && !has("adapter_model.bin")) {
    throw Error(ExitCode::malformed,
                "adapter without weights " + source.string() +
                    ": adapter_config.json but no adapter_model.safetensors or adapter_model.bin");
  }
  if (has("model.safetensors.index.json")) {
    const fs::path index_path = source / "model.safetensors.index.json";
    const json index = util::read_json_file(index_path, util::JsonLimit::index, "shard index");
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw Error(ExitCode::malformed,
                  "malformed shard index " + index_path.string() + ": no weight_map object");
    }
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) {
        throw Error(ExitCode::malformed, "malformed shard index " + index_path.string() + ": " + tensor);
      }
      shards.insert(shard.get<std::string>());
    }
    critical.insert(critical.end(), shards.begin(), shards.end());
  }
  return critical;
}

namespace {

[[noreturn]] void malformed(const fs::path& origin, const std::string& cause)
{
  throw Error(ExitCode::malformed, "malformed backup record " + origin.string() + ": " + cause);
}

std::string string_field(const json& doc, const char* key, const fs::path& origin)
{
  if (!doc.contains(key) || doc[key].is_null()) {
    return {};
  }
  if (!doc[key].is_string()) {
    malformed(origin, std::string("field '") + key + "' is not a string");
  }
  return doc[key].get<std::string>();
}

} // namespace

json BackupInfo::to_json() const
{
  return {{"id", id()},
          {"path", path.string()},
          {"type", type},
          {"name", name},
          {"source", source},
          {"reason", reason},
          {"created_at", created_at},
          {"format", format_name(format)},
          {"file_count", manifest.file_count()},
          {"total_size", manifest.total_size()},
          {"status", verification.state == TrustState::unverified ? "never verified"
                                                                  : std::string(to_string(verification.state))},
          {"verified_at", verification.checked_at},
          {"verification", verification.to_json()}};
}

json backups_document(const Store& store, const std::vector<BackupEntry>& entries)
{
  json doc = {{"root", store.root().string()}, {"model", store.model()}, {"backups", json::array()}};
  for (const auto& entry : entries) {
    doc["backups"].push_back(entry.info ? entry.info->to_json()
                                        : json{{"id", entry.type + '/' + entry.name},
                                               {"path", entry.path.string()},
                                               {"error", entry.error}});
  }
  return doc;
}

BackupInfo load_backup(const fs::path& dir)
{
  const fs::path path = dir / filenames::backup_record;
  if (!util::is_regular_file(path)) {
    throw Error(ExitCode::not_found, "not a committed backup " + dir.string() + ": no backup.json");
  }
  const json doc = util::read_json_file(path, util::JsonLimit::record, "backup record");
  if (!doc.is_object() || !doc.contains("files")) {
    malformed(path, "not a backup record");
  }
  BackupInfo info;
  info.path = dir;
  info.name = dir.filename().string();
  info.type = string_field(doc, "type", path);
  info.source = string_field(doc, "source", path);
  info.reason = string_field(doc, "reason", path);
  info.created_at = string_field(doc, "created_at", path);
  info.host = string_field(doc, "host", path);
  info.user = string_field(doc, "user", path);
  info.format = parse_format(doc.contains("format") ? string_field(doc, "format", path) : "dir");
  info.manifest = Manifest::from_json(doc["files"], path);
  if (doc.contains("critical_files") && doc["critical_files"].is_array()) {
    for (const auto& item : doc["critical_files"]) {
      if (item.is_string()) {
        info.critical_files.push_back(item.get<std::string>());
      }
    }
  }
  info.verification = VerificationRecord::from_json(doc.value("verification", json()));
  if (doc.value("file_count", info.manifest.file_count()) != info.manifest.file_count() ||
      doc.value("total_size", info.manifest.total_size()) != info.manifest.total_size()) {
    malformed(path, "file_count or total_size disagree with the file list");
  }
  return info;
}

std::vector<BackupEntry> list_backups(const Store& store, const std::optional<std::string>& type)
{
  std::vector<BackupEntry> entries;
  std::error_code ec;
  for (fs::directory_iterator types(store.backups_dir(), ec), end; !ec && types != end; types.increment(ec)) {
    const std::string type_name = types->path().filename().string();
    if (util::is_temp_name(type_name) || !types->is_directory() || (type && *type != type_name)) {
      continue;
    }
    std::error_code inner;
    for (fs::directory_iterator it(types->path(), inner); !inner && it != end; it.increment(inner)) {
      const std::string name = it->path().filename().string();
      if (util::is_temp_name(name) || !it->is_directory() ||
          !util::exists(it->path() / filenames::backup_record)) {
        continue;
      }
      BackupEntry entry{it->path(), type_name, name, std::nullopt, {}};
      try {
        entry.info = load_backup(it->path());
        entry.info->type = type_name;
      } catch (const Error& error) {
        entry.error = error.what();
      }
      entries.push_back(std::move(entry));
    }
    util::check_listing(inner, types->path());
  }
  util::check_listing(ec, store.backups_dir());
  std::sort(entries.begin(), entries.end(), [](const BackupEntry& a, const BackupEntry& b) {
    return std::tie(a.type, a.name) < std::tie(b.type, b.name);
  });
  return entries;
}

BackupInfo resolve_backup(const Store& store, const std::string& text)
{
  if (text.find('/') != std::string::npos) {
    const fs::path in_store = store.backups_dir() / text;
    if (util::is_regular_file(in_store / filenames::backup_record) && fs::path(text).is_relative()) {
      return load_backup(in_store);
    }
    if (util::is_directory(text)) {
      BackupInfo info = load_backup(fs::absolute(text).lexically_normal());
      return info;
    }
    throw Error(ExitCode::not_found, "no backup " + text + " (give a path, TYPE/NAME or a backup name)");
  }
  std::vector<BackupEntry> matches;
  for (auto& entry : list_backups(store, std::nullopt)) {
    if (entry.name == text) {
      matches.push_back(std::move(entry));
    }
  }
  if (matches.empty()) {
    throw Error(ExitCode::not_found, "no backup named " + text + " in " + store.backups_dir().string());
  }
  if (matches.size() > 1) {
    throw Error(ExitCode::usage, "backup name " + text + " is ambiguous: give it as TYPE/NAME (" +
                                     matches[0].type + "/" + text + ", " + matches[1].type + "/" + text +
                                     ")");
  }
  if (!matches[0].info) {
    throw Error(ExitCode::malformed, matches[0].error);
  }
  return *matches[0].info;
}

namespace {

TreeCheck check_data(const BackupInfo& backup, Hashing hashing, util::Progress* progress, util::ReadFrom from)
{
  if (!util::exists(backup.data_path())) {
    TreeCheck check;
    check.other.push_back("data missing: " + backup.data_path().string());
    for (const auto& entry : backup.manifest.files()) {
      check.missing.push_back(entry.path);
    }
    return check;
  }
  if (backup.format == BackupFormat::dir) {
    return check_tree(backup.data_path(), backup.manifest, progress, {}, hashing, from);
  }
  try {
    return check_archive(backup.data_path(), backup.manifest, hashing, progress);
  } catch (const Error& error) {
    TreeCheck check;
    check.other.push_back(error.what());
    return check;
  }
}

std::string percent_difference(std::uint64_t expected, std::uint64_t found)
{
  if (expected == 0) {
    return "";
  }
  char text[48];
  std::snprintf(text, sizeof text, " (%+.2f%%)",
                (static_cast<double>(found) - static_cast<double>(expected)) * 100.0 /
                    static_cast<double>(expected));
  return text;
}

} // namespace

BackupCheck verify_backup(const BackupInfo& backup, Hashing hashing, util::Progress* progress, util::ReadFrom from)
{
  BackupCheck result;
  result.depth = hashing == Hashing::yes ? CheckDepth::full : CheckDepth::quick;
  result.checks = {"file_count", "total_size", "critical_files", "file_sizes"};
  if (hashing == Hashing::yes) {
    result.checks.emplace_back("sha256");
  }
  const TreeCheck check = check_data(backup, hashing, progress, from);
  auto& problems = result.problems;
  problems.insert(problems.end(), check.other.begin(), check.other.end());
  if (check.files_found != backup.manifest.file_count()) {
    problems.push_back("file count: expected " + std::to_string(backup.manifest.file_count()) + ", found " +
                       std::to_string(check.files_found));
  }
  if (check.bytes_found != backup.manifest.total_size()) {
    problems.push_back("total size: expected " + std::to_string(backup.manifest.total_size()) +
                       " bytes, found " + std::to_string(check.bytes_found) +
                       percent_difference(backup.manifest.total_size(), check.bytes_found));
  }
  for (const auto& critical : backup.critical_files) {
    const bool missing =
        backup.manifest.find(critical) == nullptr ||
        std::find(check.missing.begin(), check.missing.end(), critical) != check.missing.end();
    if (missing) {
      problems.push_back("critical file missing: " + critical);
    }
  }
  for (const auto& path : check.missing) {
    problems.push_back("missing: " + path);
  }
  for (const auto& path : check.modified) {
    const bool resized = std::find(check.resized.begin(), check.resized.end(), path) != check.resized.end();
    const FileEntry* expected = backup.manifest.find(path);
    problems.push_back(resized ? "size differs: " + path + " (expected " + std::to_string(expected->size) +
                                     " bytes)"
                               : "checksum differs: " + path);
  }
  for (const auto& path : check.extra) {
    problems.push_back("extra: " + path);
  }
  return result;
}

namespace {

json read_backup_json(const BackupInfo& backup)
{
  const fs::path path = backup.path / filenames::backup_record;
  json doc = util::read_json_file(path, util::JsonLimit::record, "backup record");
  if (!doc.is_object()) {
    malformed(path, "not a JSON object");
  }
  return doc;
}

} // namespace

void update_backup_record(const BackupInfo& backup, const std::string& key, const json& value)
{
  json doc = read_backup_json(backup);
  doc[key] = value;
  util::write_file_atomic(backup.path / filenames::backup_record, doc.dump(2) + '\n', 0644,
                          backup.path.parent_path());
}

json read_backup_record(const BackupInfo& backup, const std::string& key)
{
  const json doc = read_backup_json(backup);
  return doc.contains(key) ? doc[key] : json(nullptr);
}

VerificationRecord record_verification(const BackupInfo& backup, const BackupCheck& check)
{
  json doc = read_backup_json(backup);
  const auto next = VerificationRecord::from_json(doc.value("verification", json()))
                        .apply(check.depth, check.checks, check.problems, util::utc_now_iso8601());
  doc["verification"] = next.to_json();
  util::write_file_atomic(backup.path / filenames::backup_record, doc.dump(2) + '\n', 0644,
                          backup.path.parent_path());
  return next;
}

void remove_backup(const BackupInfo& backup)
{
  const fs::path doomed = util::temp_path_for(backup.path, "deleting");
  util::rename_durable(backup.path, doomed);
  util::failpoint("backup_delete.after_rename");
  util::remove_all(doomed);
}

} // namespace modelkeep::core
