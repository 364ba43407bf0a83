#pragma once

#include "commands/session.hpp"
#include "core/backup/restore.hpp"
#include "core/layout/store.hpp"
#include "util/lockfile.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace modelkeep::app {

namespace fs = std::filesystem;

/// Options accepted by every subcommand of every tool, before or after its name.
struct GlobalOptions {
  std::string program; ///< "model-versioner", "backup-manager", ...
  std::optional<std::string> root;
  std::optional<std::string> model;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
  bool no_progress = false;
  double lock_timeout_seconds = 30.0;
};

/// What a subcommand handler needs: the options, the store and the output conventions.
class Context {
public:
  explicit Context(const GlobalOptions& options) : m_options(options) {}

  /// The model selected by --model or $MODELKEEP_MODEL (else the default model) in the root
  /// selected by --root, $MODELKEEP_ROOT or ./models, which must exist: Error(not_found) naming
  /// the path otherwise (a wrong root is never an empty store). Error(usage) for a bad model name.
  [[nodiscard]] core::Store store() const;

  /// The selected model as store() chooses it, whether or not it exists yet: for the commands
  /// that make a store (create, backup).
  [[nodiscard]] core::Store new_store() const;

  /// The selected root, which must be a directory (Error(not_found) naming it otherwise).
  [[nodiscard]] fs::path root() const;

  /// With `all_models` (--all-models), every model of the root (Error(not_found) if there is
  /// none, Error(usage) if --model was given too); else just store().
  [[nodiscard]] std::vector<core::Store> stores(bool all_models) const;

  /// The selected model (which must exist, as store() says) as the command layer runs it:
  /// this tool's name in lock files, --lock-timeout, progress bars unless --json or -q, and
  /// notes on stderr unless --json or -q.
  [[nodiscard]] commands::Session session() const { return session_of(store()); }

  /// The same for the selected model whether or not it exists yet (create, backup).
  [[nodiscard]] commands::Session new_session() const { return session_of(new_store()); }

  /// One session per store of stores(all_models).
  [[nodiscard]] std::vector<commands::Session> sessions(bool all_models) const;

  /// `store` run as session() runs the selected model.
  [[nodiscard]] commands::Session session_of(const core::Store& store) const;

  /// How long to wait for a lock another process holds (--lock-timeout).
  [[nodiscard]] std::chrono::milliseconds lock_timeout() const
  {
    return std::chrono::milliseconds(static_cast<long long>(m_options.lock_timeout_seconds * 1000));
  }

  /// Whether a progress bar may be drawn.
  [[nodiscard]] bool progress() const
  {
    return !m_options.no_progress && !m_options.quiet && !m_options.json;
  }

  /// Whether --json was given.
  [[nodiscard]] bool json() const { return m_options.json; }

  /// Prints `doc` as the one JSON document on stdout with --json, else runs `text` unless --quiet.
  void emit(const nlohmann::json& doc, const std::function<void()>& text) const;

  /// The same for what a read command was asked for (list, show, history, ...): --quiet
  /// silences progress and notes, never the data itself.
  void emit_data(const nlohmann::json& doc, const std::function<void()>& text) const;

  /// Prints the id or path a script needs on stdout: always, unless --json.
  void print_result(const std::string& text) const;

  /// A note for a person on stderr, unless --quiet or --json.
  void note(const std::string& message) const;

private:
  const GlobalOptions& m_options;
};

/// The lines that tell a person what a restore of `what` did.
[[nodiscard]] std::string describe_restore(const core::RestoreResult& result, const std::string& what);

/// The version string of this build.
[[nodiscard]] const char* tool_version();

/// Registers a tool's subcommands on the app it is given.
using SubcommandAdder = std::function<void(CLI::App&, const GlobalOptions&)>;

/// The whole of a tool's main: builds the command line with the global options and the
/// subcommands, parses and runs it, and turns every error into "<program>: error: ..." on
/// stderr (plus a JSON document with --json) and the documented exit code.
[[nodiscard]] int run_tool(const std::string& program, const std::string& description, int argc, char** argv,
                           const SubcommandAdder& add_subcommands);

} // namespace modelkeep::app
