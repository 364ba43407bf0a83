#pragma once

// modelkeep's one exception type and the exit codes it maps to, shared by the library, the
// tools and the public API: every failure is a modelkeep::Error whose code() is the exit code
// the command-line tools return for it.

#include <stdexcept>
#include <string>

namespace modelkeep {

/// The exit codes shared by all modelkeep tools; scripts rely on these numbers.
enum class ExitCode : int {
  ok = 0,
  failed = 1,    ///< an operation or a verification failed
  usage = 2,     ///< bad command line
  not_found = 3, ///< a named version, backup or path does not exist
  refused = 4,   ///< refused for safety: needs --confirm/--force, duplicate, would lose data
  locked = 5,    ///< the store is locked by another writer
  malformed = 6, ///< malformed input: bad JSON, bad safetensors, bad archive
};

/// The one exception type of the project: a message for the user and the exit code it maps to.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  /// The exit code a tool's main returns for this error.
  [[nodiscard]] ExitCode code() const noexcept { return m_code; }

private:
  ExitCode m_code;
};

} // namespace modelkeep
