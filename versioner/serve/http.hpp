#pragma once

// A small HTTP/1.1 server on Boost.Beast's parser and serializer: a thread per connection over
// plain POSIX sockets (TCP or a unix socket), every read and write bounded by a deadline, size
// limits on headers and bodies, a cap on connections, and a cap on requests handled at once.

#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <semaphore>
#include <string>

namespace modelkeep::serve {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Limits {
  std::size_t header_bytes = 16 * 1024;
  std::size_t body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10000}; ///< from connection or previous request to a full header
  std::chrono::milliseconds body_timeout{30000};   ///< to read the body once the header is in
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds idle_timeout{15000}; ///< keep-alive connection with no new request
  unsigned max_connections = 256;
  unsigned handlers = 8; ///< requests handled at the same time
};

/// Where the server listens: "host:port" (port 0: any free port) or a unix socket path.
struct Endpoint {
  std::string host;
  unsigned port = 0;
  std::string unix_path;

  [[nodiscard]] bool is_unix() const { return !unix_path.empty(); }
  /// Parses "127.0.0.1:8765", "[::1]:8765" or "localhost:8765"; Error(usage) otherwise.
  [[nodiscard]] static Endpoint parse(const std::string& text);
};

/// What a handler learns about the connection besides the request.
struct Peer {
  bool unix_socket = false;
};

using Handler = std::function<Response(const Request&, const Peer&)>;

/// A response that the server writes itself (limits, malformed HTTP): status and a short
/// problem document.
using ProblemWriter = std::function<Response(http::status, const std::string& detail)>;

class Server {
public:
  /// Binds and listens (Error(failed) naming the address if it cannot); the bound port is
  /// known after this (port 0 picks a free one).
  Server(const Endpoint& endpoint, Limits limits, Handler handler, ProblemWriter problem);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// The port actually bound (TCP).
  [[nodiscard]] unsigned port() const noexcept { return m_port; }

  /// Accepts and serves until stop() (or SIGINT/SIGTERM when `handle_signals`), then joins
  /// every connection thread: idle connections end at once, requests in flight are answered.
  void run(bool handle_signals);

  /// Makes run() return; safe from any thread.
  void stop() noexcept;

private:
  [[nodiscard]] bool stopping() const noexcept;
  void serve_connection(int fd);

  Endpoint m_endpoint;
  Limits m_limits;
  Handler m_handler;
  ProblemWriter m_problem;
  static constexpr unsigned k_max_handlers = 1024;
  std::counting_semaphore<k_max_handlers> m_gate; ///< requests handled at once
  std::atomic<bool> m_stop{false};
  int m_listen_fd = -1;
  unsigned m_port = 0;
};

} // namespace modelkeep::serve
