#include "serve/api.hpp"

#include "app/documents.hpp"
#include "app/observation_args.hpp"
#include "core/backup/backup.hpp"
#include "core/layout/store.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/ab.hpp"
#include "core/telemetry/monitor.hpp"
#include "core/versions/catalog.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version.hpp"
#include "serve/assets.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/subprocess.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <fcntl.h>
#include <map>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::serve {

using nlohmann::json;

namespace {

constexpr const char* k_session_cookie = "modelkeep_session";

std::string random_hex(std::size_t bytes)
{
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw Error(ExitCode::failed, "no random bytes from OpenSSL");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text;
  for (const unsigned char byte : raw) {
    text += k_hex[byte >> 4U];
    text += k_hex[byte & 0xfU];
  }
  return text;
}

bool equal_secret(const std::string& a, const std::string& b)
{
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string url_decode(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

/// How the CLI's exit codes read over HTTP.
std::pair<http::status, const char*> status_of(ExitCode code)
{
  switch (code) {
  case ExitCode::ok:
    return {http::status::ok, "ok"};
  case ExitCode::usage:
    return {http::status::bad_request, "usage"};
  case ExitCode::not_found:
    return {http::status::not_found, "not_found"};
  case ExitCode::refused:
    return {http::status::conflict, "refused"};
  case ExitCode::locked:
    return {http::status::service_unavailable, "locked"};
  case ExitCode::malformed:
    return {http::status::bad_request, "malformed"};
  case ExitCode::failed:
    break;
  }
  return {http::status::internal_server_error, "failed"};
}

Response json_response(const json& doc, http::status status = http::status::ok)
{
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = doc.dump(2) + '\n';
  return response;
}

Response error_response(const Error& error)
{
  const auto [status, code] = status_of(error.code());
  return problem(status, code, error.what());
}

std::string cookie_value(const Request& request, const std::string& name)
{
  const auto header = request[http::field::cookie];
  for (const auto& part : util::split(std::string(header), ';')) {
    auto item = part;
    item.erase(0, item.find_first_not_of(' '));
    if (item.rfind(name + "=", 0) == 0) {
      return item.substr(name.size() + 1);
    }
  }
  return {};
}

} // namespace

/// One API request, parsed: method, path segments after /api/v1/, query, JSON body.
struct Api::Call {
  std::string method;
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  json body = json::object();
  std::optional<std::string> model;

  [[nodiscard]] bool is(const char* verb, std::initializer_list<const char*> path) const
  {
    if (method != verb || segments.size() != path.size()) {
      return false;
    }
    std::size_t i = 0;
    for (const char* part : path) {
      if (std::string_view(part) != "*" && segments[i] != part) {
        return false;
      }
      ++i;
    }
    return true;
  }

  [[nodiscard]] std::string query_value(const std::string& key) const
  {
    const auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
};

Response problem(http::status status, const std::string& code, const std::string& detail)
{
  const json doc = {{"type", "about:blank"},
                    {"title", std::string(http::obsolete_reason(status))},
                    {"status", static_cast<unsigned>(status)},
                    {"code", code},
                    {"detail", detail}};
  Response response{status, 11};
  response.set(http::field::content_type, "application/problem+json");
  response.set(http::field::cache_control, "no-store");
  if (status == http::status::service_unavailable) {
    response.set(http::field::retry_after, "2");
  }
  if (status == http::status::unauthorized) {
    response.set(http::field::www_authenticate, "Bearer");
  }
  response.body() = doc.dump() + '\n';
  return response;
}

std::string load_or_create_token(const fs::path& path)
{
  util::create_directories(path.parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string token = random_hex(32);
    const std::string line = token + '\n';
    const bool ok =
        ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      util::remove_all(path);
      throw Error(ExitCode::failed, "cannot write the token file " + path.string());
    }
    util::fsync_dir(path.parent_path());
    return token;
  }
  if (errno != EEXIST) {
    throw Error(ExitCode::failed, "cannot create the token file " + path.string());
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077U) != 0) {
    throw Error(ExitCode::refused,
                "the token file " + path.string() +
                    " can be read by others; make it the owner's only (chmod 600) or remove it");
  }
  std::string token = util::read_file(path, 4096);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.size() < 32) {
    throw Error(ExitCode::malformed,
                "the token file " + path.string() + " holds no token (at least 32 characters)");
  }
  return token;
}

Api::Api(ApiOptions options)
    : m_options(std::move(options)), m_token(load_or_create_token(m_options.token_file))
{
  m_login_code = random_hex(16);
  if (!m_options.endpoint.is_unix()) {
    const std::string port = std::to_string(m_options.port);
    const std::string& host = m_options.endpoint.host;
    const bool v6 = host.find(':') != std::string::npos;
    m_hosts = {(v6 ? "[" + host + "]" : host) + ":" + port, "localhost:" + port};
    const bool loopback = host == "127.0.0.1" || host == "::1" || host == "localhost";
    if (loopback) {
      m_hosts.insert("127.0.0.1:" + port);
      m_hosts.insert("[::1]:" + port);
    }
    m_reads_need_token = !loopback;
  }
}

std::string Api::login_url() const
{
  const std::lock_guard lock(m_mutex);
  if (m_options.endpoint.is_unix()) {
    return "unix:" + m_options.endpoint.unix_path + " /?token=" + m_login_code;
  }
  return "http://" + *m_hosts.begin() + "/?token=" + m_login_code;
}

bool Api::host_allowed(const Request& request, const Peer& peer) const
{
  if (peer.unix_socket) {
    return true; // no DNS name can point a browser at a unix socket
  }
  return m_hosts.count(std::string(request[http::field::host])) > 0;
}

bool Api::authorised(const Request& request) const
{
  const auto header = std::string(request[http::field::authorization]);
  if (header.rfind("Bearer ", 0) == 0) {
    return equal_secret(header.substr(7), m_token);
  }
  const std::string session = cookie_value(request, k_session_cookie);
  if (session.empty()) {
    return false;
  }
  // A cookie comes with every request the browser makes: refuse one sent from another origin.
  const auto origin = std::string(request[http::field::origin]);
  if (!origin.empty() && origin != "http://" + std::string(request[http::field::host])) {
    return false;
  }
  const std::lock_guard lock(m_mutex);
  return std::any_of(m_sessions.begin(), m_sessions.end(),
                     [&](const std::string& known) { return equal_secret(known, session); });
}

Response Api::login(const std::string& code)
{
  std::string session;
  {
    const std::lock_guard lock(m_mutex);
    if (!equal_secret(code, m_login_code) && !equal_secret(code, m_token)) {
      return problem(http::status::unauthorized, "unauthorized", "unknown or already used login code");
    }
    if (equal_secret(code, m_login_code)) {
      m_login_code = random_hex(16); // one use only
    }
    session = random_hex(32);
    m_sessions.insert(session);
  }
  Response response{http::status::see_other, 11};
  response.set(http::field::location, "/");
  response.set(http::field::set_cookie,
               std::string(k_session_cookie) + "=" + session + "; Path=/; HttpOnly; SameSite=Strict");
  response.set(http::field::cache_control, "no-store");
  return response;
}

namespace {

struct CliResult {
  int exit_code = 1;
  json doc;
};

/// The CLI arguments for the JSON fields a route accepts: strings and numbers as --flag=VALUE
/// (never a separate word, so a value cannot pass for an option), true as --flag, false as
/// nothing. Any other field is refused.
std::vector<std::string> flags_from(const json& fields, const std::map<std::string, std::string>& known,
                                    const std::set<std::string>& positional = {})
{
  std::vector<std::string> args;
  for (const auto& [key, value] : fields.items()) {
    if (positional.count(key) > 0) {
      continue;
    }
    const auto it = known.find(key);
    if (it == known.end()) {
      throw Error(ExitCode::usage, "unknown field '" + key + "'");
    }
    if (value.is_boolean()) {
      if (value.get<bool>()) {
        args.push_back(it->second);
      }
    } else if (value.is_string()) {
      args.push_back(it->second + "=" + value.get<std::string>());
    } else if (value.is_number()) {
      args.push_back(it->second + "=" + value.dump());
    } else if (!value.is_null()) {
      throw Error(ExitCode::usage, "field '" + key + "' must be a string, a number or a boolean");
    }
  }
  return args;
}

std::string required_text(const json& body, const char* key)
{
  if (!body.contains(key) || !body[key].is_string() || body[key].get<std::string>().empty()) {
    throw Error(ExitCode::usage, std::string("field '") + key + "' (a string) is required");
  }
  return body[key].get<std::string>();
}

json query_json(const std::map<std::string, std::string>& query, std::initializer_list<const char*> skip)
{
  json fields = json::object();
  for (const auto& [key, value] : query) {
    if (std::find_if(skip.begin(), skip.end(), [&](const char* s) { return key == s; }) == skip.end()) {
      fields[key] = value;
    }
  }
  return fields;
}

core::Observation observation_from(const json& body, std::initializer_list<const char*> ignore)
{
  app::ObservationArgs args;
  for (const auto& [key, value] : body.items()) {
    if (std::find_if(ignore.begin(), ignore.end(), [&](const char* s) { return key == s; }) != ignore.end()) {
      continue;
    }
    try {
      if (key == "latency_ms") {
        args.latency_ms = value.get<double>();
      } else if (key == "confidence") {
        args.confidence = value.get<double>();
      } else if (key == "correct") {
        args.correct = value.is_boolean() ? (value.get<bool>() ? 1 : 0) : value.get<int>();
      } else if (key == "error") {
        args.error = value.get<bool>();
      } else if (key == "error_kind") {
        args.error_kind = value.get<std::string>();
      } else if (key == "psi") {
        args.psi = value.get<double>();
      } else {
        throw Error(ExitCode::usage, "unknown field '" + key + "'");
      }
    } catch (const json::exception&) {
      throw Error(ExitCode::usage, "field '" + key + "' has the wrong type");
    }
  }
  return args.observation();
}

} // namespace

Response Api::handle(const Request& request, const Peer& peer)
{
  if (!host_allowed(request, peer)) {
    return problem(http::status::misdirected_request, "bad_host",
                   "the Host header must name this server (" + *m_hosts.begin() + ")");
  }
  const std::string target(request.target());
  const auto question = target.find('?');
  const std::string path = target.substr(0, question);
  std::map<std::string, std::string> query;
  if (question != std::string::npos) {
    for (const auto& pair : util::split(target.substr(question + 1), '&')) {
      if (pair.empty()) {
        continue;
      }
      const auto eq = pair.find('=');
      query[url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    }
  }
  const std::string method(request.method_string());
  if (path == "/" || path == "/dashboard.js") {
    if (method != "GET") {
      return problem(http::status::method_not_allowed, "usage", "only GET");
    }
    if (path == "/" && query.count("token") > 0) {
      return login(query["token"]);
    }
    Response response{http::status::ok, 11};
    response.set(http::field::content_type, path == "/" ? "text/html; charset=utf-8" : "text/javascript");
    response.set(http::field::cache_control, "no-store");
    response.set(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("X-Frame-Options", "DENY");
    response.set("Referrer-Policy", "no-referrer");
    response.body() = path == "/" ? dashboard_html() : dashboard_js();
    return response;
  }
  const std::string prefix = "/api/v1/";
  if (path.rfind(prefix, 0) != 0) {
    return problem(http::status::not_found, "not_found", "no such route: " + path);
  }
  const bool reading = method == "GET" || method == "HEAD";
  if ((!reading || m_reads_need_token) && !authorised(request)) {
    return problem(http::status::unauthorized, "unauthorized",
                   "this route needs Authorization: Bearer <token> (the token is in " +
                       m_options.token_file.string() + ")");
  }
  Call call;
  call.method = method;
  for (const auto& segment : util::split(path.substr(prefix.size()), '/')) {
    if (!segment.empty()) {
      call.segments.push_back(url_decode(segment));
    }
  }
  call.query = std::move(query);
  if (call.query.count("model") > 0) {
    call.model = call.query["model"];
    call.query.erase("model");
  }
  if (!request.body().empty()) {
    call.body = json::parse(request.body(), nullptr, false);
    if (!call.body.is_object()) {
      return problem(http::status::bad_request, "malformed", "the body must be a JSON object");
    }
  }
  try {
    return route(call);
  } catch (const Error& e) {
    return error_response(e);
  } catch (const std::filesystem::filesystem_error&) {
    return problem(http::status::internal_server_error, "failed",
                   "a file operation failed; see the server's log");
  }
}

Response Api::route(const Call& call)
{
  const core::Store store(m_options.root, call.model.value_or(""));
  const auto cli = [&](std::vector<std::string> args) {
    util::ProcessSpec spec;
    spec.argv = {m_options.program.string(),
                 "--root",
                 m_options.root.string(),
                 "--json",
                 "--no-progress",
                 "--lock-timeout",
                 std::to_string(m_options.lock_timeout_seconds)};
    if (!store.is_default_model()) {
      spec.argv.push_back("--model");
      spec.argv.push_back(store.model());
    }
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.unset_env = {"MODELKEEP_MODEL", "MODELKEEP_ROOT"};
    spec.capture_stdout = true;
    spec.capture_stderr = true;
    spec.timeout = std::chrono::milliseconds(static_cast<long long>(m_options.lock_timeout_seconds * 1000) +
                                             std::chrono::milliseconds(600000).count());
    const auto result = util::run_process(spec);
    json doc = json::parse(result.out, nullptr, false);
    if (result.exit_code == 0 && !doc.is_discarded()) {
      return json_response(doc);
    }
    if (!doc.is_discarded() && doc.is_object() && doc.contains("exit_code") && doc.contains("error")) {
      const auto code = static_cast<ExitCode>(doc["exit_code"].get<int>());
      const auto [status, name] = status_of(code);
      return problem(status, name, doc["error"].get<std::string>());
    }
    return problem(http::status::internal_server_error, "failed", "the command did not finish properly");
  };
  const auto& s = call.segments;
  const auto& body = call.body;

  // Versions and stages.
  if (call.is("GET", {"versions"})) {
    auto response = cli({"list"});
    if (response.result() != http::status::ok) {
      return response;
    }
    json doc = json::parse(response.body());
    std::uint64_t limit = 100;
    if (!call.query_value("limit").empty() &&
        (!util::parse_uint(call.query_value("limit"), limit) || limit == 0 || limit > 1000)) {
      throw Error(ExitCode::usage, "limit must be 1-1000");
    }
    const std::string cursor = call.query_value("cursor");
    json page = json::array();
    std::size_t start = 0;
    auto& versions = doc["versions"];
    if (!cursor.empty()) {
      const auto it = std::find_if(versions.begin(), versions.end(),
                                   [&](const json& v) { return v.value("name", "") == cursor; });
      if (it == versions.end()) {
        throw Error(ExitCode::not_found, "cursor " + cursor + " names no version");
      }
      start = static_cast<std::size_t>(it - versions.begin()) + 1;
    }
    for (std::size_t i = start; i < versions.size() && page.size() < limit; ++i) {
      page.push_back(versions[i]);
    }
    const bool more = start + page.size() < versions.size();
    doc["next_cursor"] = more ? page.back()["name"] : json(nullptr);
    doc["versions"] = std::move(page);
    return json_response(doc);
  }
  if (call.is("GET", {"versions", "*"})) {
    return cli({"show", "--", s[1]});
  }
  if (call.is("POST", {"versions", "*", "status"})) {
    auto args = flags_from(body, {{"reason", "--reason"}}, {"status"});
    args.insert(args.begin(), "status");
    args.insert(args.end(), {"--", s[1], required_text(body, "status")});
    return cli(args);
  }
  if (call.is("GET", {"stages"})) {
    store.require_exists();
    const auto latest = core::read_latest_link(store);
    return json_response({{"model", store.model()},
                          {"stages", core::list_stages(store)},
                          {"latest", latest ? json(*latest) : json(nullptr)}});
  }
  if (call.is("GET", {"next"})) {
    return cli({"next"});
  }
  if (call.is("POST", {"promote"})) {
    auto args = flags_from(body, {{"stage", "--stage"}, {"reason", "--reason"}}, {"version"});
    args.insert(args.begin(), "promote");
    args.insert(args.end(), {"--", required_text(body, "version")});
    return cli(args);
  }
  if (call.is("POST", {"rollback"})) {
    auto args =
        flags_from(body, {{"stage", "--stage"}, {"to", "--to"}, {"best", "--best"}, {"reason", "--reason"}});
    args.insert(args.begin(), "rollback");
    return cli(args);
  }
  if (call.is("GET", {"history"})) {
    auto args = flags_from(query_json(call.query, {}),
                           {{"at", "--at"}, {"stage", "--stage"}, {"version", "--version"}});
    args.insert(args.begin(), "history");
    return cli(args);
  }
  if (call.is("GET", {"diff"})) {
    if (call.query_value("a").empty() || call.query_value("b").empty()) {
      throw Error(ExitCode::usage, "diff needs a= and b=");
    }
    return cli({"diff", "--", call.query_value("a"), call.query_value("b")});
  }

  // A/B tests.
  if (call.is("GET", {"ab"})) {
    return cli({"ab", "list"});
  }
  if (call.is("POST", {"ab"})) {
    auto args = flags_from(body,
                           {{"control", "--control"},
                            {"treatment", "--treatment"},
                            {"split", "--split"},
                            {"strategy", "--strategy"},
                            {"canary_step", "--canary-step"},
                            {"target_samples", "--target-samples"},
                            {"name", "--name"},
                            {"description", "--description"}},
                           {"id"});
    args.insert(args.begin(), {"ab", "create"});
    args.insert(args.end(), {"--", required_text(body, "id")});
    return cli(args);
  }
  if (call.is("GET", {"ab", "*"})) {
    return cli({"ab", "show", "--", s[1]});
  }
  if (call.is("POST", {"ab", "*", "start"})) {
    return cli({"ab", "start", "--", s[1]});
  }
  if (call.is("GET", {"ab", "*", "route"})) {
    store.require_exists();
    return json_response(app::ab_route_document(s[1], core::route_ab(store, s[1], call.query_value("user"))));
  }
  if (call.is("POST", {"ab", "*", "record"})) {
    store.require_exists();
    const auto variant = core::parse_variant(required_text(body, "variant"));
    const auto observation = observation_from(body, {"variant"});
    {
      const std::lock_guard queue(m_record_mutex);
      core::record_ab(store, s[1], variant, observation);
    }
    return json_response(app::ab_record_document(s[1], variant, observation));
  }
  if (call.is("GET", {"ab", "*", "status"})) {
    return cli({"ab", "status", "--", s[1]});
  }
  if (call.is("POST", {"ab", "*", "conclude"})) {
    auto args = flags_from(body, {{"promote_winner", "--promote-winner"}, {"stage", "--stage"}});
    args.insert(args.begin(), {"ab", "conclude"});
    args.insert(args.end(), {"--", s[1]});
    return cli(args);
  }

  // Monitoring.
  if (call.is("GET", {"monitor", "*", "thresholds"})) {
    return cli({"monitor", "thresholds", "--stage=" + s[1]});
  }
  if (call.is("PUT", {"monitor", "*", "thresholds"})) {
    auto args = flags_from(body, {{"min_accuracy", "--min-accuracy"},
                                  {"max_error_rate", "--max-error-rate"},
                                  {"max_latency_ms", "--max-latency-ms"},
                                  {"min_confidence", "--min-confidence"},
                                  {"window", "--window"},
                                  {"consecutive_failures", "--consecutive-failures"},
                                  {"max_accuracy_drop", "--max-accuracy-drop"},
                                  {"max_drift_psi", "--max-drift-psi"},
                                  {"auto_rollback", "--auto-rollback"}});
    args.insert(args.begin(), {"monitor", "thresholds", "--stage=" + s[1]});
    return cli(args);
  }
  if (call.is("POST", {"monitor", "*", "record"})) {
    store.require_exists();
    core::RecordOptions options;
    options.lock_timeout =
        std::chrono::milliseconds(static_cast<long long>(m_options.lock_timeout_seconds * 1000));
    options.cache = &m_monitor_cache;
    const auto observation = observation_from(body, {});
    const std::lock_guard queue(m_record_mutex);
    return json_response(core::record_prediction(store, s[1], observation, options).to_json());
  }
  if (call.is("GET", {"monitor", "*", "status"})) {
    return cli({"monitor", "status", "--stage=" + s[1]});
  }
  if (call.is("GET", {"rollbacks"})) {
    const std::string stage = call.query_value("stage");
    return cli({"monitor", "history", stage.empty() ? std::string("--all-stages") : "--stage=" + stage});
  }

  // Backups and the catalog (read-only).
  if (call.is("GET", {"backups"})) {
    return json_response(core::backups_document(store, core::list_backups(store, std::nullopt)));
  }
  if (call.is("GET", {"catalog"})) {
    return json_response({{"root", store.root().string()}, {"models", core::build_catalog(store.root())}});
  }
  return problem(http::status::not_found, "not_found",
                 "no such route: " + call.method + " /api/v1/" + util::join(call.segments, "/"));
}

} // namespace modelkeep::serve
