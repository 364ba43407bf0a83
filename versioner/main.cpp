#include "cli.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

using namespace modelkeep;

namespace {

void add_global_options(CLI::App& app, versioner::GlobalOptions& options)
{
  app.add_option("--root", options.root, "Store root (default: $MODELKEEP_ROOT, else ./models)");
  app.add_flag("--json", options.json, "Print one JSON document on stdout");
  app.add_flag("-q,--quiet", options.quiet, "Print only errors (and the ids scripts need)");
  app.add_flag("-v,--verbose", options.verbose, "Explain each step on stderr");
  app.add_flag("--no-progress", options.no_progress, "Never draw a progress bar");
  app.add_option("--lock-timeout", options.lock_timeout_seconds,
                 "Seconds to wait for another writer to release the store (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  app.set_version_flag("--version", std::string("model-versioner ") + versioner::tool_version());
}

int report(const Error& error, bool json)
{
  std::cout.flush();
  std::fprintf(stderr, "model-versioner: error: %s\n", error.what());
  if (json && !versioner::document_emitted()) {
    const nlohmann::json doc = {
        {"ok", false}, {"error", error.what()}, {"exit_code", static_cast<int>(error.code())}};
    std::cout << doc.dump(2) << '\n';
  }
  return static_cast<int>(error.code());
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app("model-versioner: every training result as a verified, timestamped version.\n"
               "Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused for safety, 5 store locked, "
               "6 malformed input.",
               "model-versioner");
  app.fallthrough();
  app.require_subcommand(1);
  versioner::GlobalOptions options;
  add_global_options(app, options);
  versioner::add_create(app, options);
  versioner::add_list(app, options);
  versioner::add_show(app, options);
  versioner::add_restore(app, options);
  versioner::add_delete(app, options);
  versioner::add_verify(app, options);
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->footer("Global options (--root, --json, -q, -v, --no-progress, --lock-timeout) are accepted "
                "before or after the subcommand; see model-versioner --help.\n");
  }

  app.parse_complete_callback(
      [&options] { util::configure_log("model-versioner", options.verbose && !options.quiet); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report(Error(ExitCode::usage, std::string(e.what()) + " (see --help)"), options.json);
  } catch (const Error& e) {
    return report(e, options.json);
  } catch (const std::filesystem::filesystem_error& e) {
    return report(Error(ExitCode::failed, e.what()), options.json);
  } catch (const std::bad_alloc&) {
    return report(Error(ExitCode::failed, "out of memory"), options.json);
  }
  return 0;
}
