#include "app/cli.hpp"

#include "app/manual.hpp"
#include "core/versions/recovery.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <unistd.h>
#include <vector>

namespace modelkeep::app {

namespace {

bool s_document_emitted = false;

// What Ctrl-C (or SIGTERM) prints before the process dies as the signal would kill it: written
// in advance, because a signal handler may only call async-signal-safe functions (write, raise).
char s_interrupted[512];
std::size_t s_interrupted_length = 0;

extern "C" void on_interrupt(int signal)
{
  if (s_interrupted_length > 0) {
    (void)!::write(STDERR_FILENO, s_interrupted, s_interrupted_length);
  }
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

/// Installs on_interrupt for SIGINT and SIGTERM, unless the signal is ignored (a background job
/// of a script ignores SIGINT and must go on doing so); the server replaces it with its own stop.
void say_what_an_interrupt_leaves(const std::string& program)
{
  const std::string text =
      "\n" + program +
      ": interrupted. Nothing that was finished is lost; what this command had half-written is "
      "left as temporary files that the next command on this store removes (an interrupted "
      "consolidation resumes from its journal).\n";
  s_interrupted_length = std::min(text.size(), sizeof s_interrupted);
  std::memcpy(s_interrupted, text.data(), s_interrupted_length);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    if (::sigaction(signal, nullptr, &current) == 0 && current.sa_handler != SIG_IGN) {
      ::sigaction(signal, &action, nullptr);
    }
  }
}

void add_global_options(CLI::App& app, GlobalOptions& options)
{
  app.add_option("--root", options.root,
                 "Store root (default: $MODELKEEP_ROOT, else the store found from the working directory "
                 "upward, else ./models)");
  app.add_option("--model", options.model,
                 "Named model inside the root (default: $MODELKEEP_MODEL, else the default model directly "
                 "under the root)");
  app.add_flag("--json", options.json, "Print one JSON document on stdout");
  app.add_flag("-q,--quiet", options.quiet,
               "No progress bars, notes or confirmations: only errors, the data a read command was asked "
               "for, and the ids or paths scripts need");
  app.add_flag("-v,--verbose", options.verbose, "Explain each step on stderr");
  app.add_flag("--no-progress", options.no_progress, "Never draw a progress bar");
  app.add_option("--lock-timeout", options.lock_timeout_seconds,
                 "Seconds to wait for another writer to release the store (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  app.set_version_flag("--version", options.program + " " + tool_version());
}

int report(const Error& error, const GlobalOptions& options)
{
  std::cout.flush();
  std::fprintf(stderr, "%s: error: %s\n", options.program.c_str(), error.what());
  if (options.json && !s_document_emitted) {
    const nlohmann::json doc = commands::document(
        {{"ok", false}, {"error", error.what()}, {"exit_code", static_cast<int>(error.code())}});
    std::cout << doc.dump(2) << '\n';
  }
  return static_cast<int>(error.code());
}

} // namespace

core::Store Context::new_store() const
{
  return core::Store::locate(m_options.root, m_options.model);
}

core::Store Context::store() const
{
  core::Store store = new_store();
  store.require_exists();
  return store;
}

fs::path Context::root() const
{
  const fs::path root = core::Store(core::Store::choose_root(m_options.root)).root();
  if (!util::is_directory(root)) {
    throw Error(ExitCode::not_found, "no store root " + root.string() +
                                         ": no such directory (pass --root, or "
                                         "set MODELKEEP_ROOT)");
  }
  return root;
}

std::vector<core::Store> Context::stores(bool all_models) const
{
  if (!all_models) {
    return {store()};
  }
  if (m_options.model) {
    throw Error(ExitCode::usage, "--all-models and --model exclude each other");
  }
  const fs::path root = this->root();
  std::vector<core::Store> result;
  for (const auto& model : core::discover_models(root)) {
    result.emplace_back(root, model);
  }
  if (result.empty()) {
    throw Error(ExitCode::not_found,
                "no models in " + root.string() + " (create a version first, or pass --root)");
  }
  return result;
}

commands::Session Context::session_of(const core::Store& store) const
{
  commands::Session session{store, m_options.program, lock_timeout(), progress(), {}};
  if (!m_options.quiet && !m_options.json) {
    session.tell = [](const std::string& message) {
      std::cout.flush();
      std::fprintf(stderr, "%s\n", message.c_str());
    };
  }
  return session;
}

std::vector<commands::Session> Context::sessions(bool all_models) const
{
  std::vector<commands::Session> result;
  for (const auto& store : stores(all_models)) {
    result.push_back(session_of(store));
  }
  return result;
}

void Context::emit(const nlohmann::json& doc, const std::function<void()>& text) const
{
  if (m_options.json) {
    std::cout << commands::document(doc).dump(2) << '\n';
    s_document_emitted = true;
  } else if (!m_options.quiet) {
    text();
  }
}

void Context::emit_data(const nlohmann::json& doc, const std::function<void()>& text) const
{
  if (m_options.json) {
    emit(doc, text);
  } else {
    text();
  }
}

void Context::print_result(const std::string& text) const
{
  if (!m_options.json) {
    std::cout << text << '\n';
  }
}

void Context::note(const std::string& message) const
{
  if (!m_options.quiet && !m_options.json) {
    std::cout.flush();
    std::fprintf(stderr, "%s\n", message.c_str());
  }
}

std::string describe_restore(const core::RestoreResult& result, const std::string& what)
{
  if (result.already_identical) {
    return result.target.string() + " already holds " + what + "; nothing changed\n";
  }
  std::string text = "restored " + what + " into " + result.target.string() + '\n';
  if (result.backup_path) {
    text += "previous content backed up (verified) to " + result.backup_path->string() + '\n';
  }
  return text;
}

const char* tool_version()
{
  return MODELKEEP_VERSION;
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b)
{
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "unknown command 'lst'; did you mean 'list'?" when the words name no (sub)command, else "".
std::string unknown_command(CLI::App& app, const std::vector<std::string>& words)
{
  CLI::App* level = &app;
  std::string path;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.rfind('-', 0) == 0) {
      // A global option's value is a separate word unless given with '='.
      if ((word == "--root" || word == "--model" || word == "--lock-timeout") && i + 1 < words.size()) {
        ++i;
      }
      continue;
    }
    const auto subcommands = level->get_subcommands([](CLI::App*) { return true; });
    if (subcommands.empty()) {
      return {};
    }
    CLI::App* next = nullptr;
    std::string nearest;
    std::size_t best = 3; // at most two edits away
    for (auto* sub : subcommands) {
      if (sub->get_name() == word) {
        next = sub;
        break;
      }
      if (const std::size_t d = edit_distance(word, sub->get_name()); d < best) {
        best = d;
        nearest = sub->get_name();
      }
    }
    if (next == nullptr) {
      return "unknown command '" + path + word + "'" +
             (nearest.empty() ? std::string() : "; did you mean '" + path + nearest + "'?");
    }
    path += word + " ";
    level = next;
  }
  return {};
}

} // namespace

int run_tool(const std::string& program, const std::string& description, int argc, char** argv,
             const SubcommandAdder& add_subcommands)
{
  // `help [COMMAND ...]` is `[COMMAND ...] --help`.
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty() && words.front() == "help") {
    words.erase(words.begin());
    words.emplace_back("--help");
  }
  CLI::App app(
      program + ": " + description +
          "\nExit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused for safety, 5 store locked, "
          "6 malformed input.",
      program);
  app.fallthrough();
  app.require_subcommand(1);
  GlobalOptions options;
  options.program = program;
  say_what_an_interrupt_leaves(program);
  add_global_options(app, options);
  add_subcommands(app, options);
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    // After the subcommand's own footer, which must not be lost.
    const std::string own = sub->get_footer();
    sub->footer((own.empty() ? std::string() : own + "\n\n") +
                "Global options (--root, --model, --json, -q, -v, --no-progress, --lock-timeout) are "
                "accepted before or after the subcommand; see " +
                program + " --help.\n");
  }
  // For the build: man pages and shell completion from these very definitions.
  if (words.size() == 2 && words[0] == "--generate-man") {
    try {
      const std::size_t pages = write_man_pages(app, program, tool_version(), words[1]);
      std::printf("%zu man pages written to %s\n", pages, words[1].c_str());
      return 0;
    } catch (const Error& e) {
      return report(e, options);
    }
  }
  if ((words.size() == 2 || words.size() == 3) && words[0] == "--generate-completion") {
    try {
      if (words[1] != "bash") {
        throw Error(ExitCode::usage, "--generate-completion: only bash is generated (zsh: bashcompinit)");
      }
      if (words.size() == 3) {
        util::create_directories(fs::path(words[2]).parent_path());
        util::write_file_atomic(words[2], bash_completion(app, program));
      } else {
        std::fputs(bash_completion(app, program).c_str(), stdout);
      }
      return 0;
    } catch (const Error& e) {
      return report(e, options);
    }
  }
  app.parse_complete_callback(
      [&options] { util::configure_log(options.program, options.verbose && !options.quiet); });
  try {
    std::vector<std::string> reversed(words.rbegin(), words.rend()); // CLI11 takes them last first
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string unknown = unknown_command(app, words); !unknown.empty()) {
      return report(Error(ExitCode::usage, unknown + " (see " + program + " --help)"), options);
    }
    return report(Error(ExitCode::usage, std::string(e.what()) + " (see --help)"), options);
  } catch (const Error& e) {
    return report(e, options);
  } catch (const std::filesystem::filesystem_error& e) {
    return report(Error(ExitCode::failed, e.what()), options);
  } catch (const std::bad_alloc&) {
    return report(Error(ExitCode::failed, "out of memory"), options);
  }
  return 0;
}

} // namespace modelkeep::app
