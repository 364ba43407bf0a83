#pragma once

#include <string>
#include <string_view>

namespace modelkeep::util {

/// Sets the program name that prefixes messages ("model-versioner") and whether step
/// messages are shown (-v).
void configure_log(std::string_view program, bool verbose);

/// With -v: prints "<program>: <message>" on stderr; otherwise nothing.
void log_step(const std::string& message);

/// Always: prints "<program>: warning: <message>" on stderr.
void log_warning(const std::string& message);

} // namespace modelkeep::util
