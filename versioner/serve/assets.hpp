#pragma once

#include <string>

namespace modelkeep::serve {

/// The dashboard page and its script, embedded in the binary (no network fetches).
[[nodiscard]] const std::string& dashboard_html();
[[nodiscard]] const std::string& dashboard_js();

} // namespace modelkeep::serve
