#include "commands.hpp"
#include "serve/api.hpp"
#include "serve/http.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

namespace fs = std::filesystem;

struct ServeArgs {
  std::string listen = "127.0.0.1:8765";
  std::string unix_path;
  std::string token_file;
  std::vector<std::string> allowed_hosts;
  unsigned threads = 8;
  std::size_t body_limit = 1024 * 1024;
};

void run(const ServeArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store(context.root());
  serve::Endpoint endpoint =
      args.unix_path.empty() ? serve::Endpoint::parse(args.listen) : serve::Endpoint{"", 0, args.unix_path};
  serve::Limits limits;
  limits.handlers = args.threads;
  limits.body_bytes = args.body_limit;
  serve::ApiOptions api_options;
  api_options.root = store.root();
  // A relative --token-file is the user's own words: relative to the working directory.
  api_options.token_file = args.token_file.empty() ? store.root_state_dir() / "serve-token"
                                                   : fs::absolute(args.token_file).lexically_normal();
  api_options.endpoint = endpoint;
  api_options.allowed_hosts = args.allowed_hosts;
  api_options.lock_timeout_seconds = options.lock_timeout_seconds;
  std::unique_ptr<serve::Api> api;
  serve::Server server(
      endpoint, limits,
      [&](const serve::Request& request, const serve::Peer& peer) { return api->handle(request, peer); },
      [](serve::http::status status, const std::string& detail) {
        return serve::problem(
            status, status == serve::http::status::payload_too_large ? "payload_too_large" : "bad_request",
            detail);
      });
  api_options.port = server.port();
  api = std::make_unique<serve::Api>(api_options);
  const std::string where =
      endpoint.is_unix()
          ? "unix:" + endpoint.unix_path
          : "http://" +
                (endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host) +
                ":" + std::to_string(server.port());
  std::cout << "modelkeep registry of " << store.root().string() << " at " << where << '\n'
            << "dashboard (one-time login for promote and rollback): " << api->login_url() << '\n'
            << "API token for scripts: " << api_options.token_file.string() << '\n';
  if (api->reads_need_token()) {
    std::cout << "listening beyond loopback: every route needs the token\n";
  }
  std::cout.flush();
  server.run(true);
  std::cout << "stopped\n";
}

} // namespace

void add_serve(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve the registry over HTTP (/api/v1/...) with a dashboard at /; loopback only unless "
               "--listen names another address. Mutations need the bearer token; stop with Ctrl-C");
  cmd->add_option("--listen", args->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:8765; port 0: any free one)");
  cmd->add_option("--unix", args->unix_path, "Listen on this unix socket instead (mode 0600)");
  cmd->add_option("--token-file", args->token_file,
                  "The bearer token's file (default <root>/.modelkeep/serve-token, created at first start)");
  cmd->add_option("--allow-host", args->allowed_hosts,
                  "A name clients may use in the Host header besides the listen address (repeatable), "
                  "e.g. the machine's name when listening on 0.0.0.0");
  cmd->add_option("--threads", args->threads, "Requests handled at the same time (default 8)")
      ->check(CLI::Range(1U, 1024U));
  cmd->add_option("--body-limit", args->body_limit, "Largest request body in bytes (default 1 MiB)")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{64} << 20U));
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
