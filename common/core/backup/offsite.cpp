#include "core/backup/offsite.hpp"

#include "core/layout/filenames.hpp"
#include "core/layout/settings.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
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

/// A repository as restic takes it, with a relative local path made absolute against `base`;
/// any other backend (sftp:, rest:, s3:, b2:, rclone:, ...) as it is.
std::string local_repository_path(const std::string& repository, const fs::path& base)
{
  if (repository.empty()) {
    return repository;
  }
  std::string path = repository;
  std::string prefix;
  if (path.rfind("local:", 0) == 0) {
    prefix = "local:";
    path = path.substr(prefix.size());
  } else {
    const auto colon = path.find(':');
    const auto slash = path.find('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon < slash)) {
      return repository; // a backend URL
    }
  }
  if (fs::path(path).is_absolute()) {
    return repository;
  }
  return prefix + (base / path).lexically_normal().string();
}

} // namespace

ResticConfig load_restic_config(const Store& store, const std::optional<std::string>& repo_flag)
{
  const auto section = setting(store, "offsite");
  json offsite = section ? section->value : json::object();
  if (!offsite.is_object()) {
    throw Error(ExitCode::malformed, "bad store config: \"offsite\" is not an object");
  }
  // Relative paths in a config file are relative to its directory, wherever the command runs
  // from (cron's working directory must not pick the repository).
  const fs::path base = section ? section->file.parent_path() : store.root_state_dir();
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
  // The flag and the environment are the user's own words: relative to the working directory.
  std::string password_file;
  if (const auto from_env = env("RESTIC_PASSWORD_FILE")) {
    password_file = fs::absolute(*from_env).string();
  } else if (const std::string configured = text("password_file"); !configured.empty()) {
    password_file = (base / configured).lexically_normal().string();
  }
  if (repo_flag) {
    config.repository = local_repository_path(*repo_flag, fs::current_path());
  } else if (const auto from_env = env("RESTIC_REPOSITORY")) {
    config.repository = local_repository_path(*from_env, fs::current_path());
  } else {
    config.repository = local_repository_path(text("repository"), base);
  }
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
  config.password_file = password_file;
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
  config.used_before = [store, shown = config.shown_repository()] { return repository_was_used(store, shown); };
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

json OffsiteRecord::to_json() const
{
  json doc = {{"repository", repository},
              {"snapshot", snapshot},
              {"pushed_at", pushed_at},
              {"verification", verification.to_json()}};
  if (verification.verified()) {
    doc["verified_at"] = verification.full_verified_at; // what 0.1 reads
  }
  if (!forgotten_at.empty()) {
    doc["forgotten_at"] = forgotten_at;
  }
  return doc;
}

OffsiteRecord OffsiteRecord::from_json(const json& doc)
{
  OffsiteRecord record;
  record.repository = doc.value("repository", "");
  record.snapshot = doc.value("snapshot", "");
  record.pushed_at = doc.value("pushed_at", "");
  record.forgotten_at = doc.value("forgotten_at", "");
  if (doc.contains("verification")) {
    record.verification = VerificationRecord::from_json(doc["verification"]);
  } else if (const std::string verified = doc.value("verified_at", ""); !verified.empty()) {
    record.verification = VerificationRecord{}.apply(CheckDepth::full, {"restore", "sha256"}, {}, verified);
  }
  return record;
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
      try {
        records.push_back(OffsiteRecord::from_json(item));
      } catch (const json::exception&) {
        continue; // a record of the wrong shape counts as no copy
      }
    }
  }
  return records;
}

namespace {

void write_offsite_records(const BackupInfo& backup, const std::vector<OffsiteRecord>& records)
{
  json list = json::array();
  for (const auto& record : records) {
    list.push_back(record.to_json());
  }
  update_backup_record(backup, "offsite", list);
}

fs::path offsite_state_path(const Store& store)
{
  return store.root_state_dir() / filenames::offsite_state;
}

json read_offsite_state(const Store& store)
{
  const auto doc = util::read_json_file_if_exists(offsite_state_path(store), util::JsonLimit::settings,
                                                  "offsite state");
  return doc && doc->is_object() ? *doc : json::object();
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
                       const std::vector<RemoteCopy>& existing, bool show_progress, Resend resend)
{
  const std::string repo = restic.config().shown_repository();
  auto records = offsite_records(backup);
  for (const auto& record : records) {
    const bool still_there = std::any_of(existing.begin(), existing.end(),
                                         [&](const RemoteCopy& copy) { return copy.id == record.snapshot; });
    if (record.repository != repo) {
      continue;
    }
    if (still_there && record.forgotten_at.empty()) {
      return {backup, record.snapshot, true, false};
    }
    if (!record.forgotten_at.empty() && resend == Resend::no) {
      return {backup, record.snapshot, false, true};
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
  const ResticBackupReport report = restic.backup(
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
  util::failpoint("offsite.before_record");
  // Confirm what restic stored before recording it. Fast path (no second repository open,
  // which costs restic a key derivation): restic's summary counts every file and byte of the
  // backup and the snapshot's file is in a local repository, named by its full id. Otherwise
  // the snapshot's listing must hold every file with its size.
  const std::string& short_id = report.snapshot;
  std::string full_id;
  std::vector<std::string> confirmed;
  if (report.files == expected.size() && report.bytes == total) {
    if (auto id = restic.local_snapshot_id(short_id)) {
      full_id = std::move(*id);
      confirmed = {"file_count", "total_size", "snapshot_stored"};
    }
  }
  if (full_id.empty()) {
    const auto listed = restic.files(short_id, &full_id);
    if (listed != expected) {
      throw Error(ExitCode::failed, "snapshot " + short_id + " in " + repo + " does not list every file of " +
                                        backup.id() + " with its size (" + util::plural(listed.size(), "file") +
                                        ", " + std::to_string(expected.size()) + " expected); nothing was recorded");
    }
    confirmed = {"listing", "file_sizes"};
  }
  if (full_id.rfind(short_id, 0) != 0) {
    // A restic whose listing does not name the snapshot: one more repository open to find it.
    full_id = short_id;
    for (const auto& copy : remote_copies(restic)) {
      if (copy.id.rfind(short_id, 0) == 0) {
        full_id = copy.id;
      }
    }
  }
  OffsiteRecord record;
  record.repository = repo;
  record.snapshot = full_id;
  record.pushed_at = util::utc_now_iso8601();
  record.verification = VerificationRecord{}.apply(CheckDepth::quick, confirmed, {}, record.pushed_at);
  records.push_back(record);
  write_offsite_records(backup, records);
  return {backup, full_id, false, false};
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

void record_remote_check(const BackupInfo& backup, const std::string& snapshot, CheckDepth depth,
                         const std::vector<std::string>& problems)
{
  auto records = offsite_records(backup);
  for (auto& record : records) {
    if (record.snapshot == snapshot) {
      record.verification = record.verification.apply(
          depth, depth == CheckDepth::full ? std::vector<std::string>{"restore", "sha256"}
                                           : std::vector<std::string>{"listing", "file_sizes"},
          problems, util::utc_now_iso8601());
    }
  }
  write_offsite_records(backup, records);
}

void record_forgotten(const BackupInfo& backup, const std::string& snapshot)
{
  auto records = offsite_records(backup);
  for (auto& record : records) {
    if (record.snapshot == snapshot && record.forgotten_at.empty()) {
      record.forgotten_at = util::utc_now_iso8601();
    }
  }
  write_offsite_records(backup, records);
}

VerificationRecord repository_state(const Store& store, const std::string& repository)
{
  const json doc = read_offsite_state(store);
  const auto repos = doc.value("repositories", json::object());
  return repos.contains(repository) ? VerificationRecord::from_json(repos[repository].value("check", json()))
                                    : VerificationRecord{};
}

void record_repository_check(const Store& store, const std::string& repository, CheckDepth depth,
                             const std::vector<std::string>& problems)
{
  json doc = read_offsite_state(store);
  if (!doc.contains("repositories") || !doc["repositories"].is_object()) {
    doc["repositories"] = json::object();
  }
  json& entry = doc["repositories"][repository];
  const auto next = VerificationRecord::from_json(entry.is_object() ? entry.value("check", json()) : json())
                        .apply(depth, {"restic check", depth == CheckDepth::full ? "read all pack data" : "read some pack data"},
                               problems, util::utc_now_iso8601());
  entry = {{"check", next.to_json()}};
  util::create_directories(store.root_state_dir());
  util::write_file_atomic(offsite_state_path(store), doc.dump(2) + '\n');
}

bool repository_was_used(const Store& store, const std::string& repository)
{
  if (read_offsite_state(store).value("repositories", json::object()).contains(repository)) {
    return true;
  }
  for (const auto& model : discover_models(store.root())) {
    for (const auto& entry : list_backups(Store(store.root(), model), std::nullopt)) {
      if (!entry.info) {
        continue;
      }
      const auto records = offsite_records(*entry.info);
      if (std::any_of(records.begin(), records.end(),
                      [&](const OffsiteRecord& record) { return record.repository == repository; })) {
        return true;
      }
    }
  }
  return false;
}
} // namespace modelkeep::core
