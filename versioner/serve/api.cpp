#include "serve/api.hpp"

#include "commands/ab.hpp"
#include "commands/backups.hpp"
#include "commands/catalog.hpp"
#include "commands/integrity.hpp"
#include "commands/monitor.hpp"
#include "commands/stages.hpp"
#include "commands/versions.hpp"
#include "core/layout/store.hpp"
#include "core/versions/refs.hpp"
#include "serve/assets.hpp"
#include "serve/request.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
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
  response.body() = doc.dump() + '\n'; // compact: a third smaller and faster to write than indented
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

/// One API request, read: the segments a route's "*" matched, the query and the body as typed
/// fields, and the session the command runs in. A handler reads every field it takes, calls
/// finish() (an unknown field is refused before anything is done), then runs the command.
struct Api::Call {
  std::vector<std::string> args;
  Fields query;
  Fields body;
  commands::Session session;
  bool authorised = false; ///< the request carries the token or a session cookie

  void finish() const
  {
    query.finish();
    body.finish();
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
  const int fd = util::env().open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string token = random_hex(32);
    const std::string line = token + '\n';
    try {
      util::UniqueFd owner(fd);
      util::write_all(fd, line, path);
      util::fsync_fd(fd, path);
      owner.close(path);
    } catch (const Error&) {
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
    for (const auto& name : m_options.allowed_hosts) {
      m_hosts.insert(name);
      m_hosts.insert(name + ":" + port);
    }
    m_reads_need_token = !loopback;
  }
  add_routes();
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

/// One prediction from request fields (the same checks as the CLI's options).
core::Observation observation_from(Fields& fields)
{
  core::Observation o;
  o.latency_ms = fields.number("latency_ms");
  o.confidence = fields.number("confidence");
  try {
    o.correct = fields.flag("correct");
  } catch (const Error&) {
    std::optional<std::uint64_t> as_count;
    try {
      as_count = fields.count("correct");
    } catch (const Error&) {
    }
    if (!as_count || *as_count > 1) {
      throw Error(ExitCode::usage, "field 'correct' must be true, false, 0 or 1");
    }
    o.correct = *as_count == 1;
  }
  o.error = fields.flag("error").value_or(false);
  o.error_kind = fields.text("error_kind").value_or("");
  o.psi = fields.number("psi");
  o.validate();
  return o;
}

/// Whether `segments` match `pattern` ("*" matches any one segment); the matched ones in `args`.
bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
             std::vector<std::string>& args)
{
  if (pattern.size() != segments.size()) {
    return false;
  }
  args.clear();
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "*") {
      args.push_back(segments[i]);
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

std::string allow_header(const std::set<http::verb>& methods)
{
  std::vector<std::string> names;
  for (const auto method : methods) {
    names.emplace_back(http::to_string(method));
    if (method == http::verb::get) {
      names.emplace_back("HEAD");
    }
  }
  return util::join(names, ", ");
}

Response method_not_allowed(const std::set<http::verb>& methods)
{
  Response response = problem(http::status::method_not_allowed, "method_not_allowed",
                              "this route answers " + allow_header(methods));
  response.set(http::field::allow, allow_header(methods));
  return response;
}

} // namespace

Response Api::handle(const Request& request, const Peer& peer)
{
  if (!host_allowed(request, peer)) {
    return problem(http::status::misdirected_request, "bad_host",
                   "the Host header must name this server (" + *m_hosts.begin() +
                       "; serve --allow-host NAME adds a name)");
  }
  const std::string target(request.target());
  const std::string path = target.substr(0, target.find('?'));
  const auto method = request.method();
  if (path == "/" || path == "/dashboard.js") {
    if (method != http::verb::get && method != http::verb::head) {
      return method_not_allowed({http::verb::get});
    }
    Target parsed;
    try {
      parsed = Target::parse(target);
    } catch (const Error& e) {
      return error_response(e);
    }
    if (path == "/" && parsed.query.count("token") > 0) {
      return login(parsed.query["token"]);
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
  if (path.rfind("/api/v1/", 0) != 0) {
    return problem(http::status::not_found, "not_found", "no such route: " + path);
  }
  const bool reading = method == http::verb::get || method == http::verb::head;
  if ((!reading || m_reads_need_token) && !authorised(request)) {
    return problem(http::status::unauthorized, "unauthorized",
                   "this route needs Authorization: Bearer <token> (the token is in " +
                       m_options.token_file.string() + ")");
  }
  try {
    return api_request(request, target);
  } catch (const Error& e) {
    return error_response(e);
  } catch (const std::filesystem::filesystem_error&) {
    return problem(http::status::internal_server_error, "failed",
                   "a file operation failed; see the server's log");
  }
}

Response Api::api_request(const Request& request, const std::string& target)
{
  Target parsed = Target::parse(target);
  parsed.segments.erase(parsed.segments.begin(), parsed.segments.begin() + 2); // "api", "v1"
  // HEAD is GET without the body (the server sends the headers only).
  const http::verb method = request.method() == http::verb::head ? http::verb::get : request.method();
  const Route* route = nullptr;
  std::vector<std::string> args;
  std::set<http::verb> allowed;
  for (const auto& candidate : m_routes) {
    std::vector<std::string> matched;
    if (!matches(candidate.pattern, parsed.segments, matched)) {
      continue;
    }
    allowed.insert(candidate.method);
    if (candidate.method == method) {
      route = &candidate;
      args = std::move(matched);
    }
  }
  if (route == nullptr) {
    if (!allowed.empty()) {
      return method_not_allowed(allowed);
    }
    return problem(http::status::not_found, "not_found",
                   "no such route: " + std::string(request.method_string()) + " " + parsed.path);
  }
  json body = json::object();
  if (!request.body().empty()) {
    body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded()) {
      return problem(http::status::bad_request, "malformed", "the body is not JSON (or not valid UTF-8)");
    }
  }
  Fields query = query_fields(parsed.query);
  const std::string model = query.text("model").value_or("");
  Call call{std::move(args), std::move(query), Fields(std::move(body)),
            commands::Session{
                core::Store(m_options.root, model), "model-versioner serve",
                std::chrono::milliseconds(static_cast<long long>(m_options.lock_timeout_seconds * 1000)),
                false, {}},
            route->needs_caller ? authorised(request) : false};
  Reply reply = route->handler(call);
  if (reply.written.empty()) {
    return json_response(commands::document(std::move(reply.document)));
  }
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(reply.written);
  return response;
}

void Api::add_routes()
{
  const auto get = http::verb::get;
  const auto post = http::verb::post;
  const auto put = http::verb::put;
  const auto add = [this](http::verb method, std::vector<std::string> pattern, RouteHandler handler) {
    m_routes.push_back({method, std::move(pattern), std::move(handler)});
  };

  // Versions and stages.
  add(get, {"versions"}, [](Call& call) {
    commands::ListOptions options;
    options.tag = call.query.text("tag");
    options.limit = call.query.count("limit").value_or(100);
    if (options.limit == 0) {
      throw Error(ExitCode::usage, "limit must be 1-1000");
    }
    options.cursor = call.query.text("cursor");
    call.finish();
    const auto list = commands::list_versions(call.session, options);
    list.require_readable();
    return Reply::text(list.to_json_text());
  });
  add(get, {"versions", "*"}, [](Call& call) {
    call.finish();
    return commands::show_version(call.session, call.args[0]).to_json();
  });
  add(post, {"versions", "*", "status"}, [](Call& call) {
    commands::StatusOptions options{call.args[0], call.body.required_text("status"),
                                    call.body.text("reason").value_or("")};
    call.finish();
    return commands::set_status(call.session, options).to_json();
  });
  // One version's checksums recomputed: bounded by that version's size (a whole store's verify
  // is the CLI's, or a nightly job's, not a request's). A failed check is an answer, not an
  // error: 200 with "ok": false and what is damaged.
  add(post, {"versions", "*", "verify"}, [](Call& call) {
    call.finish();
    return commands::verify_versions({call.session}, {{call.args[0]}}).to_json();
  });
  // Whether this caller may write (the dashboard shows it): the token or a login cookie.
  add(get, {"session"}, [](Call& call) {
    call.finish();
    return json{{"authenticated", call.authorised}};
  });
  m_routes.back().needs_caller = true;
  add(get, {"stages"}, [](Call& call) {
    call.finish();
    const core::Store& store = call.session.existing();
    const auto latest = core::read_latest_link(store);
    return json{{"model", store.model()},
                {"stages", core::list_stages(store)},
                {"latest", latest ? json(*latest) : json(nullptr)}};
  });
  add(get, {"next"}, [](Call& call) {
    call.finish();
    return commands::next_versions(call.session).to_json();
  });
  add(post, {"promote"}, [](Call& call) {
    commands::PromoteOptions options;
    options.version = call.body.required_text("version");
    options.stage = call.body.text("stage").value_or("production");
    options.reason = call.body.text("reason").value_or("");
    call.finish();
    return commands::promote(call.session, options).to_json();
  });
  add(post, {"rollback"}, [](Call& call) {
    commands::RollbackOptions options;
    options.stage = call.body.text("stage").value_or("production");
    options.to = call.body.text("to");
    options.best = call.body.text("best");
    options.reason = call.body.text("reason").value_or("");
    call.finish();
    return commands::rollback(call.session, options).to_json();
  });
  add(get, {"history"}, [](Call& call) {
    commands::HistoryOptions options{call.query.text("stage"), call.query.text("version"),
                                     call.query.text("at")};
    call.finish();
    return commands::history(call.session, options).to_json();
  });
  add(get, {"diff"}, [](Call& call) {
    const auto a = call.query.required_text("a");
    const auto b = call.query.required_text("b");
    call.finish();
    return commands::diff_versions(call.session, a, b).to_json();
  });

  // A/B tests.
  add(get, {"ab"}, [](Call& call) {
    call.finish();
    return commands::to_json(commands::ab_list(call.session));
  });
  add(post, {"ab"}, [](Call& call) {
    commands::AbCreateOptions options;
    options.id = call.body.required_text("id");
    options.control = call.body.required_text("control");
    options.treatment = call.body.required_text("treatment");
    options.split = call.body.number("split").value_or(options.split);
    options.strategy = call.body.text("strategy").value_or(options.strategy);
    options.canary_step = call.body.number("canary_step").value_or(options.canary_step);
    options.target_samples = call.body.count("target_samples").value_or(0);
    options.name = call.body.text("name").value_or("");
    options.description = call.body.text("description").value_or("");
    call.finish();
    return commands::ab_create(call.session, options).to_json();
  });
  add(get, {"ab", "*"}, [](Call& call) {
    call.finish();
    return commands::ab_show(call.session, call.args[0]).to_json();
  });
  add(post, {"ab", "*", "start"}, [](Call& call) {
    call.finish();
    return commands::ab_start(call.session, call.args[0]).to_json();
  });
  add(get, {"ab", "*", "route"}, [](Call& call) {
    const auto user = call.query.text("user").value_or("");
    call.finish();
    return commands::ab_route(call.session, call.args[0], user).to_json();
  });
  add(post, {"ab", "*", "record"}, [this](Call& call) {
    const auto variant = core::parse_variant(call.body.required_text("variant"));
    const auto observation = observation_from(call.body);
    call.finish();
    const std::lock_guard queue(m_record_mutex);
    return commands::ab_record(call.session, call.args[0], variant, observation).to_json();
  });
  add(get, {"ab", "*", "status"}, [](Call& call) {
    call.finish();
    return commands::to_json(commands::ab_status(call.session, call.args[0]));
  });
  add(post, {"ab", "*", "conclude"}, [](Call& call) {
    commands::AbConcludeOptions options;
    options.id = call.args[0];
    options.promote_winner = call.body.flag("promote_winner").value_or(false);
    options.stage = call.body.text("stage").value_or("production");
    call.finish();
    return commands::ab_conclude(call.session, options).test.to_json();
  });

  // Monitoring.
  add(get, {"monitor", "*", "thresholds"}, [](Call& call) {
    call.finish();
    commands::ThresholdOptions options;
    options.stage = call.args[0];
    return commands::monitor_thresholds(call.session, options).to_json();
  });
  add(put, {"monitor", "*", "thresholds"}, [](Call& call) {
    commands::ThresholdOptions options;
    options.stage = call.args[0];
    options.min_accuracy = call.body.number("min_accuracy");
    options.max_error_rate = call.body.number("max_error_rate");
    options.max_latency_ms = call.body.number("max_latency_ms");
    options.min_confidence = call.body.number("min_confidence");
    options.window = call.body.count("window");
    options.consecutive_failures = call.body.count("consecutive_failures");
    options.max_accuracy_drop = call.body.number("max_accuracy_drop");
    options.max_drift_psi = call.body.number("max_drift_psi");
    options.auto_rollback = call.body.flag("auto_rollback");
    call.finish();
    return commands::monitor_thresholds(call.session, options).to_json();
  });
  add(post, {"monitor", "*", "record"}, [this](Call& call) {
    const auto observation = observation_from(call.body);
    call.finish();
    const std::lock_guard queue(m_record_mutex);
    return commands::monitor_record(call.session, call.args[0], observation, &m_monitor_cache).to_json();
  });
  add(get, {"monitor", "*", "status"}, [](Call& call) {
    call.finish();
    return commands::monitor_status(call.session, call.args[0]).to_json();
  });
  add(get, {"rollbacks"}, [](Call& call) {
    const auto stage = call.query.text("stage");
    call.finish();
    return json{{"rollbacks", commands::monitor_history(call.session, stage)}};
  });

  // Backups and the catalog (read-only).
  add(get, {"backups"}, [](Call& call) {
    const auto type = call.query.text("type");
    call.finish();
    const auto listing = commands::list_backups(call.session, type);
    listing.require_readable();
    return listing.to_json();
  });
  add(get, {"catalog"}, [this](Call& call) {
    call.finish();
    return commands::catalog(m_options.root, false).to_json();
  });
}

} // namespace modelkeep::serve
