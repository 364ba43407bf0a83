#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelkeep::util {

/// What to run and how: the program gets `stdin_text` on its standard input (from a memory
/// file, so a program that never reads it cannot block or SIGPIPE the caller) and runs in its
/// own process group, which is killed as a whole when `timeout` passes.
struct ProcessSpec {
  std::vector<std::string> argv;                            ///< argv[0] is a path or a name on $PATH
  std::vector<std::pair<std::string, std::string>> set_env; ///< added to (or replacing in) the environment
  std::vector<std::string> unset_env;                       ///< removed from the environment
  std::string stdin_text;
  std::chrono::milliseconds timeout{30000};
  bool capture_stdout = false; ///< else the child's stdout goes to the caller's stderr
  bool capture_stderr = false; ///< else the child's stderr is the caller's stderr
  /// Called with each complete line of stdout as it arrives (requires capture_stdout).
  std::function<void(std::string_view)> on_stdout_line;
};

/// How the program ended.
struct ProcessResult {
  int exit_code = -1; ///< the exit status, or -1 if it was killed by a signal
  int signal = 0;     ///< the signal that killed it, or 0
  bool timed_out = false;
  bool not_found = false; ///< the program could not be executed (exit 127 from the child)
  std::string out;        ///< captured stdout
  std::string err;        ///< captured stderr

  [[nodiscard]] bool ok() const noexcept { return exit_code == 0 && !timed_out; }
  /// "exit 3", "killed by signal 9", "timed out after 2 s", "not found".
  [[nodiscard]] std::string describe(std::chrono::milliseconds timeout) const;
};

/// Runs a program to completion (or to its timeout) and returns how it ended. Throws only when
/// the process cannot be started at all (fork or pipe failure).
[[nodiscard]] ProcessResult run_process(const ProcessSpec& spec);

} // namespace modelkeep::util
