#pragma once

// Shared by the fuzz targets: a scratch directory per process (on tmpfs when there is one)
// for the parsers that read files, and the rule that only modelkeep::Error may escape a
// parser: anything else (an uncaught library exception, a crash, a sanitizer report) is a
// bug that becomes a regression test (a file in corpus/<target>/).
#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace modelkeep::fuzz {

inline const std::filesystem::path& scratch()
{
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto path = base / ("modelkeep-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

/// Writes the input to `name` in a fresh scratch subdirectory and returns that directory.
inline std::filesystem::path place(const std::string& name, const std::uint8_t* data, std::size_t size)
{
  const auto dir = scratch() / "case";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return dir;
}

/// Runs `body`, accepting only modelkeep::Error as a way to refuse the input.
template <typename Body> void refuse_cleanly(Body&& body)
{
  try {
    body();
  } catch (const Error&) {
  }
}

} // namespace modelkeep::fuzz
