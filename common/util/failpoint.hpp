#pragma once

#include <string_view>

namespace modelkeep::util {

/// Crash-test hook: if $MODELKEEP_FAILPOINT names this point ("name", or "name@N" for the
/// N-th time it is reached), the process kills itself with SIGKILL right here, so that no
/// destructor or cleanup runs. Costs one comparison when the variable is unset.
void failpoint(std::string_view name);

} // namespace modelkeep::util
