#pragma once

#include "core/store.hpp"

#include <filesystem>
#include <string>
#include <string_view>

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

/// A scratch directory with a store laid out in its models/ subdirectory.
struct ScratchStore {
  ScratchDir dir;
  core::Store store{dir / "models"};

  ScratchStore() { store.ensure_layout(); }
};

/// Writes `content` to `path`, creating parent directories.
void write_text(const std::filesystem::path& path, std::string_view content);

/// Reads a whole file.
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

} // namespace modelkeep::test
