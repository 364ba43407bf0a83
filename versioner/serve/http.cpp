#include "serve/http.hpp"

#include "util/error.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <list>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <semaphore>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace modelkeep::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> s_signalled{false};

extern "C" void on_stop_signal(int /*signal*/)
{
  s_signalled.store(true);
}

/// A connected socket as Beast's SyncReadStream and SyncWriteStream, where every operation
/// gives up (beast::error::timeout) at the deadline: poll(2) before each recv and send.
class TimedStream {
public:
  TimedStream(int fd, const std::atomic<bool>& stop) : m_fd(fd), m_stop(stop) {}

  void deadline_in(std::chrono::milliseconds span) { m_deadline = Clock::now() + span; }

  template <class Buffers> std::size_t read_some(const Buffers& buffers, beast::error_code& ec)
  {
    const auto buffer = first_nonempty(buffers);
    if (buffer.size() == 0) {
      ec = {};
      return 0;
    }
    if (!wait(POLLIN, ec)) {
      return 0;
    }
    const ssize_t n = ::recv(m_fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = n == 0 ? beast::error_code(net::error::eof) : beast::error_code(errno, beast::system_category());
    return 0;
  }

  // The stream concepts want throwing overloads too.
  template <class Buffers> std::size_t read_some(const Buffers& buffers)
  {
    return or_throw([&](beast::error_code& ec) { return read_some(buffers, ec); });
  }

  template <class Buffers> std::size_t write_some(const Buffers& buffers, beast::error_code& ec)
  {
    const auto buffer = first_nonempty(buffers);
    if (buffer.size() == 0) {
      ec = {};
      return 0;
    }
    if (!wait(POLLOUT, ec)) {
      return 0;
    }
    const ssize_t n = ::send(m_fd, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = beast::error_code(errno, beast::system_category());
    return 0;
  }

  template <class Buffers> std::size_t write_some(const Buffers& buffers)
  {
    return or_throw([&](beast::error_code& ec) { return write_some(buffers, ec); });
  }

private:
  template <class Operation> static std::size_t or_throw(Operation operation)
  {
    beast::error_code ec;
    const std::size_t n = operation(ec);
    if (ec) {
      throw beast::system_error(ec);
    }
    return n;
  }

  template <class Buffers> static auto first_nonempty(const Buffers& buffers)
  {
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      if (net::buffer_size(*it) > 0) {
        return *it;
      }
    }
    using Buffer = std::decay_t<decltype(*net::buffer_sequence_begin(buffers))>;
    return Buffer{}; // an empty sequence, or only empty buffers: nothing to do
  }

  bool wait(short events, beast::error_code& ec)
  {
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - Clock::now()).count();
      // A server that stops does not wait for idle clients (but finishes writing its answers).
      if (left <= 0 || (events == POLLIN && (m_stop.load() || s_signalled.load()))) {
        ec = beast::error::timeout;
        return false;
      }
      pollfd pfd{m_fd, events, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (ready > 0) {
        return true;
      }
      if (ready < 0 && errno != EINTR) {
        ec = beast::error_code(errno, beast::system_category());
        return false;
      }
    }
  }

  int m_fd;
  const std::atomic<bool>& m_stop;
  Clock::time_point m_deadline = Clock::now();
};

[[noreturn]] void fail(const std::string& what)
{
  throw Error(ExitCode::failed, what + ": " + std::strerror(errno));
}

int listen_tcp(const Endpoint& endpoint, unsigned& port)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(endpoint.port);
  if (const int rc = ::getaddrinfo(endpoint.host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw Error(ExitCode::usage, "cannot listen on " + endpoint.host + ": " + ::gai_strerror(rc));
  }
  const std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(found, ::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("cannot create a socket");
  }
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot listen on " + endpoint.host + ":" + service);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

int listen_unix(const std::string& path)
{
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    throw Error(ExitCode::usage, "unix socket path too long: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw Error(ExitCode::refused, path + " exists and is not a socket; not replacing it");
    }
    // A socket nobody answers on is left over from a server that died: replace it.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    if (live) {
      throw Error(ExitCode::locked, "another server is listening on " + path);
    }
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("cannot create a socket");
  }
  const mode_t old_mask = ::umask(0177); // the socket is the owner's only
  const bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(fd, 128) == 0;
  ::umask(old_mask);
  if (!ok) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot listen on " + path);
  }
  return fd;
}

/// What the accepting thread writes when the connection cap is reached.
std::string busy_response()
{
  const std::string body =
      R"({"type":"about:blank","title":"Service Unavailable","status":503,"code":"busy",)"
      R"("detail":"too many connections; retry"})";
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

} // namespace

Endpoint Endpoint::parse(const std::string& text)
{
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw Error(ExitCode::usage, "bad --listen '" + text + "': use HOST:PORT, e.g. 127.0.0.1:8765");
  }
  Endpoint endpoint;
  endpoint.host = text.substr(0, colon);
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    throw Error(ExitCode::usage, "bad --listen '" + text + "': the port must be 0-65535");
  }
  endpoint.port = static_cast<unsigned>(std::stoul(port));
  return endpoint;
}

Server::Server(const Endpoint& endpoint, Limits limits, Handler handler, ProblemWriter problem)
    : m_endpoint(endpoint), m_limits(limits), m_handler(std::move(handler)), m_problem(std::move(problem)),
      m_gate(static_cast<std::ptrdiff_t>(std::clamp(limits.handlers, 1U, k_max_handlers)))
{
  m_listen_fd = endpoint.is_unix() ? listen_unix(endpoint.unix_path) : listen_tcp(endpoint, m_port);
}

Server::~Server()
{
  if (m_listen_fd >= 0) {
    ::close(m_listen_fd);
  }
  if (m_endpoint.is_unix()) {
    ::unlink(m_endpoint.unix_path.c_str());
  }
}

void Server::stop() noexcept
{
  m_stop.store(true);
}

bool Server::stopping() const noexcept
{
  return m_stop.load() || s_signalled.load();
}

void Server::run(bool handle_signals)
{
  if (handle_signals) {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
  }
  const std::string busy = busy_response();
  // Every connection thread is the server's: finished ones are joined as new ones come, and
  // all are joined before run() returns, so none outlives the server or the handler.
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Connection> connections;
  const auto reap = [&connections](bool all) {
    for (auto it = connections.begin(); it != connections.end();) {
      if (all || it->done->load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  };
  while (!stopping()) {
    reap(false);
    pollfd pfd{m_listen_fd, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) {
      continue;
    }
    const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    if (connections.size() >= m_limits.max_connections) {
      reap(false);
    }
    if (connections.size() >= m_limits.max_connections) {
      (void)::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    if (!m_endpoint.is_unix()) {
      // Beast writes a response's header and body in separate sends: without this, Nagle's
      // algorithm holds the body back until the client's delayed ACK (40 ms).
      const int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections.push_back({std::thread([this, fd, done] {
                             try {
                               serve_connection(fd);
                             } catch (...) {
                               // A connection's failure is that connection's; the server goes on.
                             }
                             ::close(fd);
                             done->store(true);
                           }),
                           done});
  }
  // Idle connections end at once (their reads see the stop); requests in flight finish their
  // work and answer (each bounded by the lock timeout and the write deadline), then close.
  reap(true);
}

namespace {

/// Closes the sending side and reads (and drops) what the client still sends, for up to a
/// second: closing a socket with unread input resets the connection, and the client would
/// lose the response it has not read yet (a 413 while it is still sending its body).
void linger_close(int fd)
{
  ::shutdown(fd, SHUT_WR);
  char sink[16384];
  const auto until = Clock::now() + std::chrono::seconds(1);
  std::size_t dropped = 0;
  while (Clock::now() < until && dropped < (std::size_t{8} << 20U)) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n <= 0) {
      return;
    }
    dropped += static_cast<std::size_t>(n);
  }
}

} // namespace

void Server::serve_connection(int fd)
{
  struct Linger {
    int fd;
    ~Linger() { linger_close(fd); }
  } const linger{fd};
  TimedStream stream(fd, m_stop);
  beast::flat_buffer buffer;
  const Peer peer{m_endpoint.is_unix()};
  bool first = true;
  const auto respond = [&](Response response, bool keep_alive, bool head = false) {
    response.keep_alive(keep_alive);
    response.prepare_payload();
    if (head) { // the headers a GET would have, without its body
      const auto length = response.body().size();
      response.body().clear();
      response.content_length(length);
    }
    stream.deadline_in(m_limits.write_timeout);
    beast::error_code ec;
    http::write(stream, response, ec);
    return !ec && keep_alive;
  };
  while (!stopping()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(m_limits.header_bytes));
    parser.body_limit(m_limits.body_bytes);
    stream.deadline_in(first ? m_limits.header_timeout : m_limits.idle_timeout);
    first = false;
    beast::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec == net::error::eof || ec == beast::error::timeout || ec == net::error::connection_reset) {
      if (ec == beast::error::timeout && buffer.size() > 0) {
        (void)respond(m_problem(http::status::request_timeout, "the request header did not arrive in time"),
                      false);
      }
      return;
    }
    if (ec == http::error::body_limit) { // a Content-Length over the limit is caught with the header
      (void)respond(m_problem(http::status::payload_too_large,
                              "the body is larger than " + std::to_string(m_limits.body_bytes) + " bytes"),
                    false);
      return;
    }
    if (ec == http::error::header_limit) {
      (void)respond(
          m_problem(http::status::request_header_fields_too_large, "the request header is too large"), false);
      return;
    }
    if (ec) {
      (void)respond(m_problem(http::status::bad_request, "malformed HTTP request"), false);
      return;
    }
    const auto length = parser.content_length();
    if (length && *length > m_limits.body_bytes) {
      (void)respond(m_problem(http::status::payload_too_large,
                              "the body is larger than " + std::to_string(m_limits.body_bytes) + " bytes"),
                    false);
      return;
    }
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> proceed{http::status::continue_, 11};
      stream.deadline_in(m_limits.write_timeout);
      http::write(stream, proceed, ec);
      if (ec) {
        return;
      }
    }
    stream.deadline_in(m_limits.body_timeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      (void)respond(m_problem(http::status::payload_too_large,
                              "the body is larger than " + std::to_string(m_limits.body_bytes) + " bytes"),
                    false);
      return;
    }
    if (ec == beast::error::timeout) {
      (void)respond(m_problem(http::status::request_timeout, "the request body did not arrive in time"),
                    false);
      return;
    }
    if (ec) {
      (void)respond(m_problem(http::status::bad_request, "malformed HTTP request"), false);
      return;
    }
    Request request = parser.release();
    Response response;
    try {
      m_gate.acquire();
      const std::unique_ptr<std::counting_semaphore<k_max_handlers>,
                            void (*)(std::counting_semaphore<k_max_handlers>*)>
          release(&m_gate, [](std::counting_semaphore<k_max_handlers>* gate) { gate->release(); });
      response = m_handler(request, peer);
    } catch (...) {
      // Never an exception's text in a response: the handler maps every expected error itself.
      response = m_problem(http::status::internal_server_error, "internal error");
    }
    response.version(request.version());
    if (!respond(std::move(response), request.keep_alive(), request.method() == http::verb::head)) {
      return;
    }
  }
}

} // namespace modelkeep::serve
