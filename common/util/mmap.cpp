#include "util/mmap.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace modelkeep::util {

MappedFile MappedFile::open(const std::filesystem::path& path)
{
  const UniqueFd fd = open_for_reading(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat", path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    return MappedFile(nullptr, 0);
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (data == MAP_FAILED) {
    throw_errno("cannot map", path);
  }
  ::madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const std::byte*>(data), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0))
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept
{
  if (this != &other) {
    if (m_data != nullptr) {
      ::munmap(const_cast<std::byte*>(m_data), m_size);
    }
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
  }
  return *this;
}

MappedFile::~MappedFile()
{
  if (m_data != nullptr) {
    ::munmap(const_cast<std::byte*>(m_data), m_size);
  }
}

void MappedFile::release(std::uint64_t offset, std::uint64_t length) const noexcept
{
  static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t start = (offset + page - 1) / page * page;
  const std::uint64_t end = std::min<std::uint64_t>(offset + length, m_size) / page * page;
  if (m_data != nullptr && end > start) {
    ::madvise(const_cast<std::byte*>(m_data) + start, end - start, MADV_DONTNEED);
  }
}

} // namespace modelkeep::util
