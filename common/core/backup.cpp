#include "core/backup.hpp"

#include "core/store.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <nlohmann/json.hpp>

namespace modelkeep::core {

using nlohmann::json;

namespace {

void validate_type(const std::string& type)
{
  const bool ok = !type.empty() && type.front() >= 'a' && type.front() <= 'z' &&
                  type.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!ok) {
    throw Error(ExitCode::usage, "invalid backup type '" + type + "': use lower case letters, digits and _");
  }
}

/// A name in `dir` not taken yet: base, then base_2, base_3, ...
fs::path unused_path(const fs::path& dir, const std::string& base)
{
  fs::path candidate = dir / base;
  std::error_code ec;
  for (int n = 2; fs::exists(fs::symlink_status(candidate, ec)); ++n) {
    candidate = dir / (base + '_' + std::to_string(n));
  }
  return candidate;
}

void verify_copy(const fs::path& data_dir, const Manifest& expected,
                 const std::vector<std::string>& critical_files, const fs::path& source, bool show_progress)
{
  util::Progress progress("verifying backup", expected.total_size(), show_progress);
  const TreeCheck check = check_tree(data_dir, expected, &progress);
  progress.finish();
  if (!check.ok()) {
    throw Error(ExitCode::failed, "backup verification failed for " + source.string() + ": " +
                                      check.summary() + " in the copy at " + data_dir.string());
  }
  for (const auto& critical : critical_files) {
    if (expected.find(critical) == nullptr) {
      throw Error(ExitCode::failed, "critical file missing " + (source / critical).string() +
                                        ": the backup would be incomplete");
    }
  }
}

json backup_document(const BackupRequest& request, const BackupRecord& record, const std::string& name)
{
  return {
      {"schema_version", 1},
      {"name", name},
      {"type", request.type},
      {"source", request.source.string()},
      {"reason", request.reason},
      {"created_at", record.created_at},
      {"host", util::host_name()},
      {"user", util::user_name()},
      {"format", "dir"},
      {"file_count", record.manifest.file_count()},
      {"total_size", record.manifest.total_size()},
      {"manifest_digest", record.manifest.digest()},
      {"files", record.manifest.to_json()},
      {"critical_files", request.critical_files},
      {"verification",
       {{"verified_at", util::utc_iso8601(std::chrono::system_clock::now())},
        {"checks", {"file_count", "sizes", "sha256", "critical_files"}},
        {"result", "verified"}}},
  };
}

} // namespace

BackupRecord create_verified_backup(const Store& store, const BackupRequest& request, bool show_progress)
{
  validate_type(request.type);
  std::error_code ec;
  if (!fs::is_directory(request.source, ec)) {
    throw Error(ExitCode::not_found, "cannot back up " + request.source.string() + ": not a directory");
  }
  const auto files = scan_tree(request.source);
  const fs::path type_dir = store.backups_dir() / request.type;
  util::create_directories(type_dir);
  util::require_space(type_dir, total_size(files));

  const auto now = std::chrono::system_clock::now();
  BackupRecord record;
  record.created_at = util::utc_iso8601(now);
  const fs::path final_path =
      unused_path(type_dir, util::slugify(request.name) + '_' + util::utc_compact(now));
  util::TempPath temp(util::temp_path_for(final_path));
  util::create_directories(temp.path());
  {
    util::Progress progress("backing up", total_size(files), show_progress);
    record.manifest = copy_tree(files, temp.path() / "data", &progress, util::DropCache::yes);
  }
  util::failpoint("backup.after_copy");
  util::log_step("reading the backup back from disk to verify it");
  verify_copy(temp.path() / "data", record.manifest, request.critical_files, request.source, show_progress);
  util::failpoint("backup.after_verify");
  util::log_step("backup verified: " + std::to_string(record.manifest.file_count()) +
                 " files, sizes and SHA-256 match");

  const std::string name = final_path.filename().string();
  util::write_file_atomic(temp.path() / k_backup_manifest,
                          backup_document(request, record, name).dump(2) + '\n');
  util::fsync_dir(temp.path());
  util::rename_durable(temp.path(), final_path);
  temp.commit();
  util::failpoint("backup.after_rename");
  record.path = final_path;
  return record;
}

} // namespace modelkeep::core
