#pragma once

#include "core/store.hpp"
#include "util/lockfile.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace modelkeep::versioner {

/// Options accepted by every subcommand, before or after its name.
struct GlobalOptions {
  std::optional<std::string> root;
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

  /// The store selected by --root, $MODELKEEP_ROOT or ./models.
  [[nodiscard]] core::Store store() const;

  /// Takes the store's writer lock for `command`, honouring --lock-timeout.
  [[nodiscard]] util::LockFile lock(const core::Store& store, const std::string& command) const;

  /// Whether a progress bar may be drawn.
  [[nodiscard]] bool progress() const
  {
    return !m_options.no_progress && !m_options.quiet && !m_options.json;
  }

  [[nodiscard]] bool verbose() const { return m_options.verbose && !m_options.quiet; }

  /// Prints `doc` as the one JSON document on stdout with --json, else runs `text`.
  void emit(const nlohmann::json& doc, const std::function<void()>& text) const;

  /// Prints the id or path a script needs on stdout: always, unless --json.
  void print_result(const std::string& text) const;

  /// A note for a person on stderr, unless --quiet or --json.
  void note(const std::string& message) const;

private:
  const GlobalOptions& m_options;
};

/// True once a command has printed its JSON document (so main prints no second one).
[[nodiscard]] bool document_emitted();

/// The version string of this build.
[[nodiscard]] const char* tool_version();

/// Subcommand registration; each adds its subcommand with options and a callback.
void add_create(CLI::App& app, const GlobalOptions& options);
void add_list(CLI::App& app, const GlobalOptions& options);
void add_show(CLI::App& app, const GlobalOptions& options);
void add_restore(CLI::App& app, const GlobalOptions& options);
void add_delete(CLI::App& app, const GlobalOptions& options);
void add_verify(CLI::App& app, const GlobalOptions& options);

} // namespace modelkeep::versioner
