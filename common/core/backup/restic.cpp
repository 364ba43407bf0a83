#include "core/backup/restic.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"
#include "util/text.hpp"

#include <nlohmann/json.hpp>

namespace modelkeep::core {

using nlohmann::json;

namespace {

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
        if (m_config.used_before && m_config.used_before()) {
          throw Error(ExitCode::failed,
                      "the restic repository " + repo +
                          " is not there, but backups here record copies in it: is its disk mounted "
                          "and its path right? (do not run restic init: that would start an empty one)");
        }
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

ResticBackupReport Restic::backup(const fs::path& dir, const std::vector<std::string>& tags,
                           const std::function<void(std::uint64_t, std::uint64_t)>& on_progress) const
{
  std::error_code ec;
  if (!util::is_directory(dir)) {
    // restic only warns about a missing path and still makes a snapshot.
    throw Error(ExitCode::not_found, "cannot send " + dir.string() + ": no such directory");
  }
  std::vector<std::string> args = {"backup", "--json"};
  for (const auto& tag : tags) {
    args.push_back("--tag");
    args.push_back(escape_tag(tag));
  }
  args.push_back(dir.string());
  ResticBackupReport report;
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
      report.snapshot = message.value("snapshot_id", "");
      const auto count = [&](const char* key) -> std::optional<std::uint64_t> {
        const auto it = message.find(key);
        if (it == message.end() || !it->is_number_unsigned()) {
          return std::nullopt;
        }
        return it->get<std::uint64_t>();
      };
      report.files = count("total_files_processed");
      report.bytes = count("total_bytes_processed");
    } else if (type == "error") {
      const json error = message.value("error", json::object());
      errors.push_back(message.value("item", "") + ": " +
                       (error.is_object() ? error.value("message", "") : error.dump()));
    }
  });
  if (!errors.empty()) {
    throw Error(ExitCode::failed, "restic backup reported errors: " + util::join(errors, "; "));
  }
  if (report.snapshot.empty()) {
    throw Error(ExitCode::failed, "restic backup finished without naming its snapshot");
  }
  return report;
}

std::optional<std::string> Restic::local_snapshot_id(const std::string& short_id) const
{
  // restic's location syntax: "local:PATH" or a bare path is a local repository; every other
  // backend is named by a prefix ending in ':' (sftp:, rest:, s3:, b2:, azure:, gs:, swift:,
  // rclone:).
  std::string path = m_config.repository;
  if (path.rfind("local:", 0) == 0) {
    path.erase(0, 6);
  } else {
    for (const char* scheme : {"sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:"}) {
      if (path.rfind(scheme, 0) == 0) {
        return std::nullopt;
      }
    }
  }
  if (path.empty() || short_id.size() < 8) {
    return std::nullopt;
  }
  std::error_code ec;
  std::optional<std::string> found;
  for (fs::directory_iterator it(fs::path(path) / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool is_id = name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (is_id && name.rfind(short_id, 0) == 0) {
      if (found) {
        return std::nullopt; // two snapshots share the prefix: let restic name it
      }
      found = name;
    }
  }
  return ec ? std::nullopt : found;
}

std::vector<Snapshot> Restic::snapshots(const std::string& tag) const
{
  const auto output = run({"snapshots", "--json", "--tag", escape_tag(tag)});
  const json doc = json::parse(output.out, nullptr, false);
  if (!doc.is_array()) {
    throw Error(ExitCode::failed, "restic snapshots printed something that is not a JSON list");
  }
  std::vector<Snapshot> snapshots;
  for (const auto& item : doc) {
    if (!item.is_object()) {
      continue;
    }
    Snapshot snapshot;
    snapshot.id = item.value("id", "");
    snapshot.short_id = item.value("short_id", snapshot.id.substr(0, 8));
    snapshot.time = item.value("time", "");
    for (const auto& path : item.value("paths", json::array())) {
      if (path.is_string()) {
        snapshot.paths.push_back(path.get<std::string>());
      }
    }
    for (const auto& tag_json : item.value("tags", json::array())) {
      if (tag_json.is_string()) {
        snapshot.tags.push_back(unescape_tag(tag_json.get<std::string>()));
      }
    }
    if (!snapshot.id.empty()) {
      snapshots.push_back(std::move(snapshot));
    }
  }
  return snapshots;
}

std::map<std::string, std::uint64_t> Restic::files(const std::string& snapshot, std::string* full_id) const
{
  std::map<std::string, std::uint64_t> files;
  (void)run({"ls", "--json", snapshot}, [&](std::string_view line) {
    const json node = json::parse(line, nullptr, false);
    if (!node.is_object()) {
      return;
    }
    const std::string kind = node.value("struct_type", "");
    if (kind == "node" && node.value("type", "") == "file") {
      files[node.value("path", "")] = node.value("size", std::uint64_t{0});
    } else if (kind == "snapshot" && full_id != nullptr && node.contains("id") && node["id"].is_string()) {
      *full_id = node["id"].get<std::string>(); // the first line names the snapshot in full
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

} // namespace modelkeep::core
