#pragma once

// The project's error type (modelkeep/error.hpp, part of the public API) and the helpers
// that build one from a failed system call.

#include "modelkeep/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace modelkeep {

/// Text of an errno value ("No space left on device").
[[nodiscard]] std::string errno_text(int err);

/// An Error for a failed system call: "<what> <path>: <strerror(err)>", exit code `failed`.
[[nodiscard]] Error sys_error(std::string_view what, const std::filesystem::path& path, int err);

/// Throws sys_error(what, path, errno).
[[noreturn]] void throw_errno(std::string_view what, const std::filesystem::path& path);

} // namespace modelkeep
