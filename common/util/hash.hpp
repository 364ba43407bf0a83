#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace modelkeep::util {

class Progress;

/// Incremental SHA-256 through OpenSSL EVP (uses the CPU's SHA extensions).
class Sha256 {
public:
  Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  /// Feeds bytes into the digest.
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }

  /// Finishes and returns the digest as 64 lower-case hex characters.
  [[nodiscard]] std::string hex_final();

private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> m_ctx;
};

/// SHA-256 of a byte string, as hex.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Where a file is read from to hash it: whatever the kernel gives (its page cache, if it
/// holds the file), or the device (a read-back right after writing: util::DeviceReader for
/// large files, small ones after dropping their cached pages).
enum class ReadFrom { cache, device };

/// SHA-256 of a file read in 1 MiB blocks, as hex; reports bytes to `progress` if given.
[[nodiscard]] std::string sha256_file(const std::filesystem::path& path, Progress* progress = nullptr,
                                      ReadFrom from = ReadFrom::cache);

/// True if `text` looks like a SHA-256 hex digest (64 lower-case hex characters).
[[nodiscard]] bool is_sha256_hex(std::string_view text);

/// Block size for streaming reads and copies.
inline constexpr std::size_t k_io_block = 1 << 20;

} // namespace modelkeep::util
