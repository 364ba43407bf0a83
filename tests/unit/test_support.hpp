#pragma once

#include "core/layout/store.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::test {

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class ScratchDir {
public:
  ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

/// Where to put files for a test of O_DIRECT I/O: `dir` (the test's disk) and /dev/shm where
/// there is one (tmpfs, which may refuse O_DIRECT: the code must fall back).
[[nodiscard]] std::vector<std::filesystem::path> direct_io_places(const ScratchDir& dir);

/// A scratch directory with a store laid out in its models/ subdirectory (the default model,
/// or a named one).
struct ScratchStore {
  ScratchDir dir;
  core::Store store;

  explicit ScratchStore(const std::string& model = {}) : store(dir / "models", model)
  {
    store.ensure_layout();
  }

  /// Creates a version whose adapter holds one file with `content`; returns its directory name.
  std::string add_version(const std::string& content);

  /// Points `stage` at the version named `name` as `promote` does (event logged).
  void promote(const std::string& name, const std::string& stage = "production");
};

/// Writes `content` to `path`, creating parent directories.
void write_text(const std::filesystem::path& path, std::string_view content);

/// Reads a whole file.
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

} // namespace modelkeep::test
