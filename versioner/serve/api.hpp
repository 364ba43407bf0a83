#pragma once

// The registry over HTTP: /api/v1/... routes, the dashboard at /, authentication, Host
// checks and RFC 9457 problem documents.

#include "core/telemetry/monitor.hpp"
#include "serve/http.hpp"

#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace modelkeep::serve {

namespace fs = std::filesystem;

struct ApiOptions {
  fs::path root;                          ///< the store root
  fs::path token_file;                    ///< holds the bearer token (created at first start)
  Endpoint endpoint;                      ///< for the Host check
  unsigned port = 0;                      ///< the bound port
  std::vector<std::string> allowed_hosts; ///< names the Host header may carry besides the address
  double lock_timeout_seconds = 30;
};

/// A response with an RFC 9457 problem document: {"type", "title", "status", "code", "detail"}.
[[nodiscard]] Response problem(http::status status, const std::string& code, const std::string& detail);

/// The token in `path`, created first (256 random bits, hex, O_EXCL, mode 0600) if there is
/// none. Error(refused) if the file can be read by others than its owner.
[[nodiscard]] std::string load_or_create_token(const fs::path& path);

class Api {
public:
  explicit Api(ApiOptions options);

  /// Answers one request; never throws for bad input (problem documents instead).
  [[nodiscard]] Response handle(const Request& request, const Peer& peer);

  /// The dashboard address with a one-time login code, to print at start.
  [[nodiscard]] std::string login_url() const;

  /// Whether read routes need a token too (the server listens beyond loopback).
  [[nodiscard]] bool reads_need_token() const noexcept { return m_reads_need_token; }

  /// One route: a method, a path pattern under /api/v1/ ("*" matches one segment), and what
  /// answers it (a document, 200) from the matched segments, the query and the body.
  struct Call;
  /// A route's answer: a document, or (for the hottest route) the document already written.
  struct Reply {
    Reply(nlohmann::json doc) : document(std::move(doc)) {} // NOLINT(google-explicit-constructor)
    static Reply text(std::string body)
    {
      Reply reply(nullptr);
      reply.written = std::move(body);
      return reply;
    }
    nlohmann::json document;
    std::string written;
  };
  using RouteHandler = std::function<Reply(Call&)>;
  struct Route {
    http::verb method;
    std::vector<std::string> pattern;
    RouteHandler handler;
    bool needs_caller = false; ///< the handler reads Call::authorised (checked only then)
  };

private:
  void add_routes();
  [[nodiscard]] Response api_request(const Request& request, const std::string& target);
  [[nodiscard]] bool host_allowed(const Request& request, const Peer& peer) const;
  [[nodiscard]] bool authorised(const Request& request) const;
  [[nodiscard]] Response login(const std::string& code);

  ApiOptions m_options;
  std::vector<Route> m_routes;
  std::string m_token;
  std::set<std::string> m_hosts;
  bool m_reads_need_token = false;
  core::MonitorCache m_monitor_cache; ///< predictions already parsed, per stage log (thread-safe)
  /// Records queue here rather than on the file lock, whose polling is unfair under load.
  std::mutex m_record_mutex;
  mutable std::mutex m_mutex; ///< guards the two below
  std::string m_login_code;
  std::set<std::string> m_sessions;
};

} // namespace modelkeep::serve
