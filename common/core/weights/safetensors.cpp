#include "core/weights/safetensors.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

namespace {

struct DTypeRow {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeRow, 15> k_dtypes = {{
    {DType::BOOL, "BOOL", 1},
    {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},
    {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
    {DType::F64, "F64", 8},
}};

const DTypeRow& row(DType dtype)
{
  return *std::find_if(k_dtypes.begin(), k_dtypes.end(), [&](const DTypeRow& r) { return r.dtype == dtype; });
}

[[noreturn]] void bad(const fs::path& path, const std::string& cause)
{
  throw Error(ExitCode::malformed, "bad safetensors " + path.string() + ": " + cause);
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const fs::path& path, const std::string& what)
{
  std::uint64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) {
    bad(path, "size of " + what + " overflows");
  }
  return result;
}

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const fs::path& path, const std::string& what)
{
  std::uint64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) {
    bad(path, what + " overflows");
  }
  return result;
}

std::uint64_t read_u64_le(const std::byte* data)
{
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | std::to_integer<std::uint64_t>(data[i]);
  }
  return value;
}

/// Parses the header JSON, refusing duplicate keys (which a plain parse would silently merge).
json parse_header(std::string_view text, const fs::path& path)
{
  std::set<std::string> names;
  std::string duplicate;
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, callback);
  } catch (const json::exception& error) { // parse_error, or out_of_range for a number too large
    bad(path, std::string("header is not valid JSON: ") + error.what());
  }
  if (!duplicate.empty()) {
    bad(path, "duplicate tensor name " + duplicate);
  }
  if (!header.is_object()) {
    bad(path, "header is not a JSON object");
  }
  return header;
}

std::uint64_t json_u64(const json& value, const fs::path& path, const std::string& what)
{
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    bad(path, what + " is not a non-negative integer");
  }
  return value.get<std::uint64_t>();
}

TensorInfo parse_tensor(const std::string& name, const json& desc, const fs::path& path)
{
  if (!desc.is_object() || !desc.contains("dtype") || !desc.contains("shape") ||
      !desc.contains("data_offsets")) {
    bad(path, "tensor " + name + " lacks dtype, shape or data_offsets");
  }
  TensorInfo info;
  info.name = name;
  const auto dtype = desc["dtype"].is_string() ? parse_dtype(desc["dtype"].get<std::string>()) : std::nullopt;
  if (!dtype) {
    bad(path, "tensor " + name + " has an unknown dtype " + desc["dtype"].dump());
  }
  info.dtype = *dtype;
  if (!desc["shape"].is_array()) {
    bad(path, "tensor " + name + " has a shape that is not an array");
  }
  for (const auto& dim : desc["shape"]) {
    info.shape.push_back(json_u64(dim, path, "a dimension of " + name));
  }
  const auto& offsets = desc["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    bad(path, "tensor " + name + " needs data_offsets [begin, end]");
  }
  info.begin = json_u64(offsets[0], path, "an offset of " + name);
  info.end = json_u64(offsets[1], path, "an offset of " + name);
  if (info.end < info.begin) {
    bad(path, "tensor " + name + " ends before it begins");
  }
  std::uint64_t numel = 1;
  for (const auto dim : info.shape) {
    numel = checked_mul(numel, dim, path, name);
  }
  const std::uint64_t nbytes = checked_mul(numel, dtype_size(info.dtype), path, name);
  if (info.end - info.begin != nbytes) {
    bad(path, "tensor " + name + " has " + std::to_string(info.end - info.begin) +
                  " bytes of data but its shape and " + "dtype need " + std::to_string(nbytes));
  }
  return info;
}

} // namespace

std::string_view dtype_name(DType dtype)
{
  return row(dtype).name;
}

std::optional<DType> parse_dtype(std::string_view text)
{
  for (const auto& r : k_dtypes) {
    if (r.name == text) {
      return r.dtype;
    }
  }
  return std::nullopt;
}

std::size_t dtype_size(DType dtype)
{
  return row(dtype).size;
}

std::string shape_text(const std::vector<std::uint64_t>& shape)
{
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
  }
  return text + "]";
}

std::uint64_t TensorInfo::numel() const
{
  std::uint64_t n = 1;
  for (const auto dim : shape) {
    n *= dim;
  }
  return n;
}

SafetensorsFile SafetensorsFile::open(const fs::path& path)
{
  SafetensorsFile file(path, util::MappedFile::open(path));
  const auto bytes = file.m_map.bytes();
  if (bytes.size() < 8) {
    bad(path, "shorter than the 8-byte header length");
  }
  const std::uint64_t header_size = read_u64_le(bytes.data());
  if (header_size > k_max_header_size) {
    bad(path, "header length " + std::to_string(header_size) + " exceeds the limit of 100,000,000");
  }
  if (header_size > bytes.size() - 8) {
    bad(path, "header length " + std::to_string(header_size) + " is larger than the file");
  }
  file.m_data_start = 8 + header_size;
  const json header =
      parse_header(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, header_size), path);
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) {
        bad(path, "__metadata__ is not an object");
      }
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) {
          bad(path, "__metadata__ value of " + meta_key + " is not a string");
        }
        file.m_metadata[meta_key] = meta_value.get<std::string>();
      }
      continue;
    }
    file.m_tensors.push_back(parse_tensor(key, value, path));
  }
  std::sort(file.m_tensors.begin(), file.m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected = 0;
  for (const auto& tensor : file.m_tensors) {
    if (tensor.begin != expected) {
      bad(path, "tensor " + tensor.name + " starts at " + std::to_string(tensor.begin) + ", not at " +
                    std::to_string(expected) + " (overlapping or with a gap)");
    }
    expected = tensor.end;
  }
  const std::uint64_t total =
      checked_add(checked_add(expected, 8, path, "file size"), header_size, path, "file size");
  if (total != bytes.size()) {
    bad(path, "the data ends at byte " + std::to_string(total) + " but the file has " +
                  std::to_string(bytes.size()));
  }
  for (std::size_t i = 0; i < file.m_tensors.size(); ++i) {
    file.m_index[file.m_tensors[i].name] = i;
  }
  return file;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const
{
  const auto it = m_index.find(std::string(name));
  return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& tensor) const
{
  return m_map.bytes().subspan(m_data_start + tensor.begin, tensor.nbytes());
}

void SafetensorsFile::release(const TensorInfo& tensor) const
{
  m_map.release(m_data_start + tensor.begin, tensor.nbytes());
}

std::string safetensors_header(const std::vector<TensorSpec>& specs,
                               const std::map<std::string, std::string>& metadata)
{
  json header = json::object();
  if (!metadata.empty()) {
    header["__metadata__"] = metadata;
  }
  std::uint64_t offset = 0;
  for (const auto& spec : specs) {
    std::uint64_t numel = 1;
    for (const auto dim : spec.shape) {
      numel *= dim;
    }
    const std::uint64_t end = offset + numel * dtype_size(spec.dtype);
    header[spec.name] = {
        {"dtype", dtype_name(spec.dtype)}, {"shape", spec.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  std::uint64_t size = text.size();
  for (int i = 0; i < 8; ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(size & 0xff);
    size >>= 8;
  }
  return out + text;
}

SafetensorsWriter::SafetensorsWriter(const fs::path& path, const std::vector<TensorSpec>& specs,
                                     const std::map<std::string, std::string>& metadata)
    : m_path(path), m_specs(specs)
{
  std::set<std::string> names;
  for (const auto& spec : specs) {
    if (!names.insert(spec.name).second) {
      throw Error(ExitCode::failed, "cannot write " + path.string() + ": duplicate tensor name " + spec.name);
    }
    std::uint64_t numel = 1;
    for (const auto dim : spec.shape) {
      numel *= dim;
    }
    m_sizes.push_back(numel * dtype_size(spec.dtype));
  }
  m_out = std::make_unique<util::SequentialWriter>(path, 0644);
  const std::string header = safetensors_header(specs, metadata);
  m_out->write({reinterpret_cast<const std::byte*>(header.data()), header.size()});
  while (m_index < m_sizes.size() && m_sizes[m_index] == 0) {
    ++m_index;
  }
}

SafetensorsWriter::~SafetensorsWriter() = default;

const TensorSpec* SafetensorsWriter::current() const
{
  return m_index < m_specs.size() ? &m_specs[m_index] : nullptr;
}

void SafetensorsWriter::write(std::span<const std::byte> bytes)
{
  while (!bytes.empty()) {
    if (m_index >= m_specs.size()) {
      throw Error(ExitCode::failed,
                  "cannot write " + m_path.string() + ": more data than the header describes");
    }
    const std::uint64_t room = m_sizes[m_index] - m_written_in_current;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size()));
    m_out->write(bytes.first(n));
    bytes = bytes.subspan(n);
    m_written_in_current += n;
    while (m_index < m_sizes.size() && m_written_in_current == m_sizes[m_index]) {
      ++m_index;
      m_written_in_current = 0;
    }
  }
}

void SafetensorsWriter::finish()
{
  if (m_index != m_specs.size()) {
    throw Error(ExitCode::failed, "cannot finish " + m_path.string() + ": tensor " + m_specs[m_index].name +
                                      " was not written completely");
  }
  m_out->finish();
}

} // namespace modelkeep::core
