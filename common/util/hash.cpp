#include "util/hash.hpp"

#include "util/device_reader.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"

#include <cerrno>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace modelkeep::util {

void Sha256::CtxDeleter::operator()(evp_md_ctx_st* ctx) const noexcept
{
  EVP_MD_CTX_free(ctx);
}

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new())
{
  if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ExitCode::failed, "cannot initialise SHA-256 (OpenSSL EVP)");
  }
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size)
{
  if (EVP_DigestUpdate(m_ctx.get(), data, size) != 1) {
    throw Error(ExitCode::failed, "SHA-256 update failed (OpenSSL EVP)");
  }
}

std::string Sha256::hex_final()
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(m_ctx.get(), digest, &length) != 1) {
    throw Error(ExitCode::failed, "SHA-256 final failed (OpenSSL EVP)");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(static_cast<std::size_t>(length) * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += k_hex[digest[i] >> 4];
    hex += k_hex[digest[i] & 0xf];
  }
  return hex;
}

std::string sha256_hex(std::string_view data)
{
  Sha256 hasher;
  hasher.update(data);
  return hasher.hex_final();
}

std::string sha256_file(const std::filesystem::path& path, Progress* progress, ReadFrom from)
{
  UniqueFd fd = open_for_reading(path);
  if (from == ReadFrom::device) {
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) > k_io_block) {
      fd.close(path);
      DeviceReader reader(path);
      Sha256 hasher;
      for (auto block = reader.next(); !block.empty(); block = reader.next()) {
        hasher.update(block.data(), block.size());
        if (progress != nullptr) {
          progress->add(block.size());
        }
      }
      return hasher.hex_final();
    }
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(k_io_block);
  Sha256 hasher;
  while (const std::size_t n = read_some(fd.get(), buffer.data(), buffer.size(), path)) {
    hasher.update(buffer.data(), n);
    if (progress != nullptr) {
      progress->add(n);
    }
  }
  return hasher.hex_final();
}

bool is_sha256_hex(std::string_view text)
{
  if (text.size() != 64) {
    return false;
  }
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

} // namespace modelkeep::util
