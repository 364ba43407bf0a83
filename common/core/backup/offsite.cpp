#include "core/backup/offsite.hpp"

#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/lockfile.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/subprocess.hpp"
#include "util/text.hpp"

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

// Tags are split at commas by restic; a comma (or the escape character) in a value is escaped.
std::string escape_tag(const std::string& text)
{
  std::string out;
  for (const char c : text) {
    if (c == ',') {
      out += "%2C";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_tag(const std::string& text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "%2C") == 0) {
      out += ',';
      i += 2;
    } else if (text.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool contains(const std::string& text, const char* needle)
{
  return text.find(needle) != std::string::npos;
}

/// The last few non-empty lines of restic's stderr, for a message.
std::string tail_lines(const std::string& text, std::size_t count)
{
  std::vector<std::string> lines;
  for (const auto& line : util::split(text, '\n')) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  if (lines.size() > count) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  }
  return util::join(lines, "; ");
}

bool is_lock_error(const std::string& err)
{
  return contains(err, "repository is already locked") || contains(err, "unable to create lock");
}

} // namespace

std::string ResticConfig::shown_repository() const
{
  // scheme://user:password@host/... -> scheme://user:***@host/...
  const auto scheme = repository.find("://");
  if (scheme == std::string::npos) {
    return repository;
  }
  const auto at = repository.find('@', scheme + 3);
  const auto slash = repository.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) {
    return repository;
  }
  const auto colon = repository.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) {
    return repository;
  }
  return repository.substr(0, colon + 1) + "***" + repository.substr(at);
}

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
  const std::string config_file = (store.root_state_dir() / "config.json").string();
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

Restic::Output Restic::run(const std::vector<std::string>& args,
                           const std::function<void(std::string_view)>& on_line) const
{
  util::ProcessSpec spec;
  spec.argv = {m_config.program};
  for (const auto& [key, value] : m_config.options) {
    spec.argv.push_back("-o");
    spec.argv.push_back(key + "=" + value);
  }
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  // The repository goes through the environment, not the command line: a URL may hold
  // credentials, and a command line is visible to every user. Inherited settings that would
  // override ours are cleared.
  spec.set_env = {{"RESTIC_REPOSITORY", m_config.repository},
                  {"RESTIC_PASSWORD_FILE", m_config.password_file.string()},
                  {"RESTIC_PROGRESS_FPS", "2"}};
  spec.unset_env = {"RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY_FILE",
                    "RESTIC_KEY_HINT"};
  spec.timeout = m_config.timeout;
  spec.capture_stdout = true;
  spec.capture_stderr = true;
  spec.on_stdout_line = on_line;
  const std::string what = "restic " + args.front();
  const std::string repo = m_config.shown_repository();
  for (int attempt = 0;; ++attempt) {
    util::log_step("running " + what + " on " + repo);
    auto result = util::run_process(spec);
    if (result.not_found) {
      throw Error(ExitCode::failed,
                  "restic is not installed (no program '" + m_config.program +
                      "'): install the Debian package restic (sudo apt-get install restic)");
    }
    if (result.timed_out) {
      throw Error(ExitCode::failed, what + " on " + repo + " " + result.describe(m_config.timeout) +
                                        " (raise offsite.timeout_seconds or MODELKEEP_RESTIC_TIMEOUT)");
    }
    if (result.ok()) {
      return {std::move(result.out), std::move(result.err)};
    }
    std::string err = result.err;
    for (auto pos = err.find(m_config.repository); !m_config.repository.empty() && pos != std::string::npos;
         pos = err.find(m_config.repository, pos + repo.size())) {
      err.replace(pos, m_config.repository.size(), repo);
    }
    if (is_lock_error(err) && attempt == 0) {
      util::log_warning("the restic repository " + repo + " is locked (" + tail_lines(err, 1) +
                        "); removing stale locks with `restic unlock` and trying once more");
      util::ProcessSpec unlock = spec;
      unlock.argv.resize(unlock.argv.size() - args.size());
      unlock.argv.emplace_back("unlock");
      unlock.on_stdout_line = nullptr;
      (void)util::run_process(unlock);
      continue;
    }
    if (is_lock_error(err)) {
      throw Error(ExitCode::locked, "the restic repository " + repo +
                                        " is locked by another restic that is still "
                                        "running: " +
                                        tail_lines(err, 2));
    }
    if (contains(err, "wrong password")) {
      throw Error(ExitCode::failed, "wrong password for the restic repository " + repo + " (password file " +
                                        m_config.password_file.string() + ")");
    }
    if (contains(err, "Is there a repository at the following location?")) {
      if (contains(err, "no such file or directory") || contains(err, "file does not exist") ||
          contains(err, "404") || contains(err, "NoSuchKey") || contains(err, "not found")) {
        throw Error(ExitCode::failed, "no restic repository at " + repo +
                                          ": create it once with\n  RESTIC_REPOSITORY='" + repo +
                                          "' RESTIC_PASSWORD_FILE='" + m_config.password_file.string() +
                                          "' restic init");
      }
      throw Error(ExitCode::failed,
                  "the restic repository " + repo + " is unreachable: " + tail_lines(err, 2));
    }
    if (contains(err, "unable to open repository") || contains(err, "connection refused") ||
        contains(err, "no such host")) {
      throw Error(ExitCode::failed,
                  "the restic repository " + repo + " is unreachable: " + tail_lines(err, 2));
    }
    if (result.exit_code == 3) {
      throw Error(ExitCode::failed,
                  what + " could not read every file (snapshot incomplete): " + tail_lines(err, 3));
    }
    throw Error(ExitCode::failed, what + " on " + repo + " failed (" + result.describe(m_config.timeout) +
                                      "): " + tail_lines(err, 3));
  }
}

std::string Restic::backup(const fs::path& dir, const std::vector<std::string>& tags,
                           const std::function<void(std::uint64_t, std::uint64_t)>& on_progress) const
{
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    // restic only warns about a missing path and still makes a snapshot.
    throw Error(ExitCode::not_found, "cannot send " + dir.string() + ": no such directory");
  }
  std::vector<std::string> args = {"backup", "--json"};
  for (const auto& tag : tags) {
    args.push_back("--tag");
    args.push_back(escape_tag(tag));
  }
  args.push_back(dir.string());
  std::string snapshot;
  std::vector<std::string> errors;
  (void)run(args, [&](std::string_view line) {
    const json message = json::parse(line, nullptr, false);
    if (!message.is_object()) {
      return;
    }
    const std::string type = message.value("message_type", "");
    if (type == "status" && on_progress) {
      on_progress(message.value("bytes_done", std::uint64_t{0}),
                  message.value("total_bytes", std::uint64_t{0}));
    } else if (type == "summary") {
      snapshot = message.value("snapshot_id", "");
    } else if (type == "error") {
      const json error = message.value("error", json::object());
      errors.push_back(message.value("item", "") + ": " +
                       (error.is_object() ? error.value("message", "") : error.dump()));
    }
  });
  if (!errors.empty()) {
    throw Error(ExitCode::failed, "restic backup reported errors: " + util::join(errors, "; "));
  }
  if (snapshot.empty()) {
    throw Error(ExitCode::failed, "restic backup finished without naming its snapshot");
  }
  return snapshot;
}

std::vector<RemoteCopy> Restic::snapshots() const
{
  const auto output = run({"snapshots", "--json", "--tag", k_tag});
  const json doc = json::parse(output.out, nullptr, false);
  if (!doc.is_array()) {
    throw Error(ExitCode::failed, "restic snapshots printed something that is not a JSON list");
  }
  std::vector<RemoteCopy> copies;
  for (const auto& item : doc) {
    RemoteCopy copy;
    copy.id = item.value("id", "");
    copy.short_id = item.value("short_id", copy.id.substr(0, 8));
    copy.time = item.value("time", "");
    for (const auto& path : item.value("paths", json::array())) {
      copy.paths.push_back(path.get<std::string>());
    }
    for (const auto& tag_json : item.value("tags", json::array())) {
      const auto tag = unescape_tag(tag_json.get<std::string>());
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
    if (!copy.id.empty() && !copy.name.empty()) {
      copies.push_back(std::move(copy));
    }
  }
  return copies;
}

std::map<std::string, std::uint64_t> Restic::files(const std::string& snapshot) const
{
  std::map<std::string, std::uint64_t> files;
  (void)run({"ls", "--json", snapshot}, [&](std::string_view line) {
    const json node = json::parse(line, nullptr, false);
    if (node.is_object() && node.value("struct_type", "") == "node" && node.value("type", "") == "file") {
      files[node.value("path", "")] = node.value("size", std::uint64_t{0});
    }
  });
  return files;
}

void Restic::check(unsigned n, unsigned t) const
{
  std::vector<std::string> args = {"check"};
  if (t > 0) {
    args.push_back("--read-data-subset=" + std::to_string(n) + "/" + std::to_string(t));
  }
  (void)run(args);
}

void Restic::restore(const std::string& snapshot, const fs::path& target) const
{
  (void)run({"restore", snapshot, "--target", target.string()});
}

void Restic::forget(const std::vector<std::string>& snapshots) const
{
  if (snapshots.empty()) {
    return;
  }
  std::vector<std::string> args = {"forget"};
  args.insert(args.end(), snapshots.begin(), snapshots.end());
  (void)run(args);
  (void)run({"prune"});
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
  for (const auto& copy : restic.snapshots()) {
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
  return util::LockFile::acquire(store.root_state_dir() / "offsite.lock", command, timeout);
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
