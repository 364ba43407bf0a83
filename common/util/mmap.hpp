#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace modelkeep::util {

/// A read-only memory mapping of a whole file, unmapped on destruction. Pages are read on
/// demand, so a file far larger than memory can be walked through.
class MappedFile {
public:
  /// Maps `path` read-only; throws "cannot open/map <path>: <cause>". An empty file maps to
  /// an empty span.
  [[nodiscard]] static MappedFile open(const std::filesystem::path& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {m_data, m_size}; }
  [[nodiscard]] std::uint64_t size() const noexcept { return m_size; }

  /// Tells the kernel a range is no longer needed (after it has been streamed through).
  void release(std::uint64_t offset, std::uint64_t length) const noexcept;

private:
  MappedFile(const std::byte* data, std::size_t size) : m_data(data), m_size(size) {}

  const std::byte* m_data = nullptr;
  std::size_t m_size = 0;
};

} // namespace modelkeep::util
