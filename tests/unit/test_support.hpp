#pragma once

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

/// Writes `content` to `path`, creating parent directories.
void write_text(const std::filesystem::path& path, std::string_view content);

/// Reads a whole file.
[[nodiscard]] std::string read_text(const std::filesystem::path& path);

} // namespace modelkeep::test
