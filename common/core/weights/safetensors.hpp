#pragma once

#include "util/direct_writer.hpp"

#include "util/mmap.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

namespace fs = std::filesystem;

/// The element types of the safetensors format.
enum class DType { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64 };

/// "F32", "BF16", ... as written in headers.
[[nodiscard]] std::string_view dtype_name(DType dtype);
/// Parses a header dtype; nullopt if unknown.
[[nodiscard]] std::optional<DType> parse_dtype(std::string_view text);
/// Bytes per element.
[[nodiscard]] std::size_t dtype_size(DType dtype);

/// One tensor as described by a header; offsets are relative to the start of the data.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  [[nodiscard]] std::uint64_t numel() const;
  [[nodiscard]] std::uint64_t nbytes() const { return end - begin; }
};

/// The largest header the reference implementation accepts.
inline constexpr std::uint64_t k_max_header_size = 100'000'000;

/// A safetensors file mapped read-only and validated like the reference implementation:
/// header length at most 100,000,000 and inside the file; valid JSON; no duplicate names;
/// known dtypes; offsets sorted, the first at 0, each starting where the previous ended,
/// `end - begin == numel * dtype size`, and the last end plus 8 plus the header length equal
/// to the file size; every arithmetic step checked for overflow.
class SafetensorsFile {
public:
  /// Opens and validates; throws Error(malformed) "bad safetensors <path>: <cause>".
  [[nodiscard]] static SafetensorsFile open(const fs::path& path);

  [[nodiscard]] const fs::path& path() const noexcept { return m_path; }
  /// The tensors in data order.
  [[nodiscard]] const std::vector<TensorInfo>& tensors() const noexcept { return m_tensors; }
  /// The tensor called `name`, or nullptr.
  [[nodiscard]] const TensorInfo* find(std::string_view name) const;
  /// The bytes of a tensor of this file (a view into the mapping).
  [[nodiscard]] std::span<const std::byte> data(const TensorInfo& tensor) const;
  /// The `__metadata__` string map.
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return m_metadata; }
  /// Where the data starts in the file (8 + header length).
  [[nodiscard]] std::uint64_t data_start() const noexcept { return m_data_start; }
  /// Drops a tensor's pages from memory once it has been used.
  void release(const TensorInfo& tensor) const;

private:
  SafetensorsFile(fs::path path, util::MappedFile map) : m_path(std::move(path)), m_map(std::move(map)) {}

  fs::path m_path;
  util::MappedFile m_map;
  std::uint64_t m_data_start = 0;
  std::vector<TensorInfo> m_tensors;
  std::map<std::string, std::size_t> m_index;
  std::map<std::string, std::string> m_metadata;
};

/// "[8, 64]": a shape as people read it.
[[nodiscard]] std::string shape_text(const std::vector<std::uint64_t>& shape);

/// Name, dtype and shape of a tensor to write.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
};

/// Writes a new safetensors file tensor by tensor: the header (from all specs, in order) goes
/// first, then each tensor's bytes are appended in the same order, in as many pieces as the
/// caller likes, so no tensor or file needs to be held in memory. finish() checks that every
/// byte was written and fsyncs.
class SafetensorsWriter {
public:
  /// Creates `path` (which must not exist) and writes the header.
  SafetensorsWriter(const fs::path& path, const std::vector<TensorSpec>& specs,
                    const std::map<std::string, std::string>& metadata);
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;
  ~SafetensorsWriter();

  /// Appends bytes of the current tensor (moving on to the next one when it is complete).
  void write(std::span<const std::byte> bytes);
  /// The spec of the tensor the next bytes belong to, or nullptr when all are written.
  [[nodiscard]] const TensorSpec* current() const;
  /// Checks completeness, fsyncs and closes the file.
  void finish();

private:
  fs::path m_path;
  std::unique_ptr<util::SequentialWriter> m_out;
  std::vector<TensorSpec> m_specs;
  std::vector<std::uint64_t> m_sizes;
  std::size_t m_index = 0;
  std::uint64_t m_written_in_current = 0;
};

/// The header bytes (length prefix, JSON, space padding to 8) for these tensors.
[[nodiscard]] std::string safetensors_header(const std::vector<TensorSpec>& specs,
                                             const std::map<std::string, std::string>& metadata);

} // namespace modelkeep::core
