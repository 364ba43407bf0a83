#include "util/async_hash.hpp"

#include <cstring>
#include <doctest/doctest.h>

using namespace modelkeep;

TEST_CASE("the async hasher gives each file the digest a plain SHA-256 gives, through a small pool")
{
  util::AsyncHasher hasher(2, 7); // two 7-byte buffers: blocks wait for each other
  for (const std::string& text :
       std::vector<std::string>{"hello, world, in several blocks", std::string(), std::string(1000, 'z')}) {
    for (std::size_t at = 0; at < text.size();) {
      std::vector<char>& buffer = hasher.acquire();
      const std::size_t n = std::min(buffer.size(), text.size() - at);
      std::memcpy(buffer.data(), text.data() + at, n);
      hasher.submit(buffer, n);
      at += n;
    }
    CHECK(hasher.finish() == util::sha256_hex(text));
  }
}
