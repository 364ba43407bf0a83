#include "core/backup/offsite.hpp"

#include "core/layout/filenames.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/lockfile.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace modelkeep::core {

using nlohmann::json;

namespace {

constexpr const char* k_tag = "modelkeep";

std::optional<std::string> env(const char* name)
{
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::optional<std::string>(value) : std::nullopt;
}

} // namespace

ResticConfig load_restic_config(const Store& store, const std::optional<std::string>& repo_flag)
{
  const json settings = store.config();
  json offsite = settings.value("offsite", json::object());
  if (!offsite.is_object()) {
    throw Error(ExitCode::malformed, "bad store config: \"offsite\" is not an object");
  }
  const auto text = [&](const char* key) {
    const auto it = offsite.find(key);
    if (it == offsite.end()) {
      return std::string();
    }
    if (!it->is_string()) {
      throw Error(ExitCode::malformed,
                  std::string("bad store config: \"offsite.") + key + "\" is not a string");
    }
    return it->get<std::string>();
  };
  ResticConfig config;
  config.repository = repo_flag ? *repo_flag : env("RESTIC_REPOSITORY").value_or(text("repository"));
  std::string password_file = env("RESTIC_PASSWORD_FILE").value_or(text("password_file"));
  const std::string config_file = (store.root_state_dir() / filenames::config).string();
  if (config.repository.empty()) {
    throw Error(ExitCode::usage, "no restic repository: pass --repo, set RESTIC_REPOSITORY, or put "
                                 "\"offsite\": {\"repository\": \"...\", \"password_file\": \"...\"} in " +
                                     config_file);
  }
  if (password_file.empty()) {
    throw Error(ExitCode::usage, "no restic password file: set RESTIC_PASSWORD_FILE or \"offsite\": "
                                 "{\"password_file\": \"...\"} in " +
                                     config_file + " (modelkeep never takes a password itself)");
  }
  config.password_file =
      fs::path(password_file).is_absolute() ? fs::path(password_file) : store.root() / password_file;
  if (!std::ifstream(config.password_file).good()) {
    throw Error(ExitCode::failed, "cannot read the restic password file " + config.password_file.string());
  }
  if (offsite.contains("options")) {
    if (!offsite["options"].is_object()) {
      throw Error(ExitCode::malformed, "bad store config: \"offsite.options\" is not an object");
    }
    for (const auto& [key, value] : offsite["options"].items()) {
      if (!value.is_string()) {
        throw Error(ExitCode::malformed, "bad store config: \"offsite.options." + key + "\" is not a string");
      }
      config.options.emplace_back(key, value.get<std::string>());
    }
  }
  std::uint64_t seconds = 0;
  if (const auto timeout = env("MODELKEEP_RESTIC_TIMEOUT")) {
    if (!util::parse_uint(*timeout, seconds) || seconds == 0) {
      throw Error(ExitCode::usage, "MODELKEEP_RESTIC_TIMEOUT must be a positive number of seconds");
    }
    config.timeout = std::chrono::seconds(seconds);
  } else if (offsite.contains("timeout_seconds")) {
    if (!offsite["timeout_seconds"].is_number_unsigned() ||
        offsite["timeout_seconds"].get<std::uint64_t>() == 0) {
      throw Error(ExitCode::malformed,
                  "bad store config: \"offsite.timeout_seconds\" is not a positive number");
    }
    config.timeout = std::chrono::seconds(offsite["timeout_seconds"].get<std::uint64_t>());
  }
  config.program = env("MODELKEEP_RESTIC").value_or("restic");
  return config;
}

std::vector<RemoteCopy> remote_copies(const Restic& restic)
{
  std::vector<RemoteCopy> copies;
  for (const auto& snapshot : restic.snapshots(k_tag)) {
    RemoteCopy copy;
    copy.id = snapshot.id;
    copy.short_id = snapshot.short_id;
    copy.time = snapshot.time;
    copy.paths = snapshot.paths;
    for (const auto& tag : snapshot.tags) {
      const auto colon = tag.find(':');
      const std::string key = tag.substr(0, colon);
      const std::string value = colon == std::string::npos ? "" : tag.substr(colon + 1);
      std::string* field = key == "model"     ? &copy.model
                           : key == "type"    ? &copy.type
                           : key == "name"    ? &copy.name
                           : key == "source"  ? &copy.source
                           : key == "digest"  ? &copy.digest
                           : key == "created" ? &copy.created_at
                                              : nullptr;
      if (field != nullptr) {
        *field = value;
      }
    }
    if (!copy.name.empty()) {
      copies.push_back(std::move(copy));
    }
  }
  return copies;
}

std::vector<OffsiteRecord> offsite_records(const BackupInfo& backup)
{
  std::vector<OffsiteRecord> records;
  const json list = read_backup_record(backup, "offsite");
  if (!list.is_array()) {
    return records;
  }
  for (const auto& item : list) {
    if (item.is_object()) {
      records.push_back({item.value("repository", ""), item.value("snapshot", ""),
                         item.value("pushed_at", ""), item.value("verified_at", "")});
    }
  }
  return records;
}

namespace {

void write_offsite_records(const BackupInfo& backup, const std::vector<OffsiteRecord>& records)
{
  json list = json::array();
  for (const auto& record : records) {
    json item = {
        {"repository", record.repository}, {"snapshot", record.snapshot}, {"pushed_at", record.pushed_at}};
    if (!record.verified_at.empty()) {
      item["verified_at"] = record.verified_at;
    }
    list.push_back(std::move(item));
  }
  update_backup_record(backup, "offsite", list);
}

/// The files of a backup directory as `restic ls` shows them: by absolute path (restic keeps
/// the path it was given, and push gives it an absolute one).
std::map<std::string, std::uint64_t> local_listing(const fs::path& dir)
{
  std::map<std::string, std::uint64_t> files;
  for (const auto& file : scan_tree(dir, Symlinks::inside_only)) {
    files[dir.generic_string() + "/" + file.relative] = file.size;
  }
  return files;
}

} // namespace

PushResult push_backup(const Store& store, const Restic& restic, const BackupInfo& backup,
                       const std::vector<RemoteCopy>& existing, bool show_progress)
{
  const std::string repo = restic.config().shown_repository();
  auto records = offsite_records(backup);
  for (const auto& record : records) {
    const bool still_there = std::any_of(existing.begin(), existing.end(),
                                         [&](const RemoteCopy& copy) { return copy.id == record.snapshot; });
    if (record.repository == repo && still_there) {
      return {backup, record.snapshot, true};
    }
  }
  {
    util::Progress progress("verifying " + backup.id(), backup.manifest.total_size(), show_progress);
    const BackupCheck check = verify_backup(backup, Hashing::yes, &progress);
    record_verification(backup, check);
    if (!check.ok()) {
      throw Error(ExitCode::failed, "backup " + backup.id() + " failed verification; not sending it: " +
                                        util::join(check.problems, "; "));
    }
  }
  const auto expected = local_listing(fs::absolute(backup.path).lexically_normal());
  std::uint64_t total = 0;
  for (const auto& [path, size] : expected) {
    total += size;
  }
  util::Progress progress("sending " + backup.id(), total, show_progress);
  std::uint64_t reported = 0;
  const std::string short_id = restic.backup(
      fs::absolute(backup.path).lexically_normal(),
      {k_tag, "model:" + store.model(), "type:" + backup.type, "name:" + backup.name,
       "source:" + backup.source, "digest:" + backup.manifest.digest(), "created:" + backup.created_at},
      [&](std::uint64_t done, std::uint64_t /*total*/) {
        if (done > reported) {
          progress.add(done - reported);
          reported = done;
        }
      });
  progress.finish();
  // Confirm: the snapshot lists every file of the backup with its size.
  const auto listed = restic.files(short_id);
  if (listed != expected) {
    throw Error(ExitCode::failed, "snapshot " + short_id + " in " + repo + " does not list every file of " +
                                      backup.id() + " with its size (" + std::to_string(listed.size()) +
                                      " files, " + std::to_string(expected.size()) +
                                      " expected); nothing was recorded");
  }
  std::string full_id = short_id;
  for (const auto& copy : remote_copies(restic)) {
    if (copy.id.rfind(short_id, 0) == 0) {
      full_id = copy.id;
    }
  }
  records.push_back({repo, full_id, util::utc_now_iso8601(), ""});
  write_offsite_records(backup, records);
  return {backup, full_id, false};
}

void with_restored_copy(const Restic& restic, const RemoteCopy& copy, const fs::path& near,
                        const std::function<void(const BackupInfo&)>& use)
{
  if (copy.paths.size() != 1) {
    throw Error(ExitCode::malformed, "snapshot " + copy.short_id + " holds " +
                                         std::to_string(copy.paths.size()) +
                                         " paths, not one backup directory");
  }
  const util::TempPath scratch(util::temp_path_for(near, "offsite"));
  util::create_directories(scratch.path());
  restic.restore(copy.id, scratch.path());
  // restic restores a snapshot under the target by the absolute path it was taken from.
  const BackupInfo restored = load_backup(scratch.path() / fs::path(copy.paths.front()).relative_path());
  if (!copy.digest.empty() && restored.manifest.digest() != copy.digest) {
    throw Error(ExitCode::failed, "snapshot " + copy.short_id +
                                      " holds a backup whose manifest digest is not the "
                                      "one it was tagged with");
  }
  use(restored);
}

util::LockFile lock_offsite(const Store& store, const std::string& command, std::chrono::milliseconds timeout)
{
  util::create_directories(store.root_state_dir());
  return util::LockFile::acquire(store.root_state_dir() / filenames::offsite_lock, command, timeout);
}

void record_remote_verification(const BackupInfo& backup, const std::string& snapshot)
{
  auto records = offsite_records(backup);
  for (auto& record : records) {
    if (record.snapshot == snapshot) {
      record.verified_at = util::utc_now_iso8601();
    }
  }
  write_offsite_records(backup, records);
}

} // namespace modelkeep::core
