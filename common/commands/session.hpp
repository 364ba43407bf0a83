#pragma once

// The subcommands as functions of the library: typed options in, a result out whose to_json()
// is the document the CLI prints with --json and the HTTP API answers. Errors are
// modelkeep::Error with the exit code. The CLI parses flags into the options and renders the
// result as text; the server validates a request into the same options and calls the same
// function in process, under the same locks.

#include "core/layout/store.hpp"
#include "util/lockfile.hpp"

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace modelkeep::commands {

/// The layout version of every document (the CLI's --json, the HTTP API, the C++ API): raised
/// when a field changes meaning or goes away, not when one is added.
inline constexpr int k_schema_version = 1;

/// `result` as a command's document: an object with "ok" (true unless the result says
/// otherwise, as a failed verification does) and "schema_version". The CLI, the server and the
/// C++ API all hand out documents through this.
[[nodiscard]] nlohmann::json document(nlohmann::json result);

struct Session;

/// Where a command over `sessions` looked, for "nothing ... in <where>": the directory `dir`
/// gives of the one model, else the root of them all.
[[nodiscard]] std::string searched_in(const std::vector<Session>& sessions,
                                      std::filesystem::path (core::Store::*dir)() const);

/// Who runs a command, and on which model.
struct Session {
  core::Store store;
  std::string program = "modelkeep";             ///< named in the lock file: "<program> <command>"
  std::chrono::milliseconds lock_timeout{30000}; ///< how long to wait for another writer
  bool progress = false;                         ///< whether a progress bar may be drawn
  /// Where a person is told what a long command is doing while it runs ("restoring ..."); the
  /// CLI prints it on stderr, the server and the C++ API leave it empty.
  std::function<void(const std::string&)> tell;

  /// The store, which must exist (Error(not_found) naming it otherwise).
  [[nodiscard]] const core::Store& existing() const;

  /// The store's writer lock for `command`, with `latest` repaired (versions/recovery).
  [[nodiscard]] util::LockFile lock(const std::string& command) const;

  /// Tells a person `message` through `tell`, if there is one.
  void note(const std::string& message) const;
};

} // namespace modelkeep::commands
