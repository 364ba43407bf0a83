#include "util/hash.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace modelkeep;

TEST_CASE("SHA-256 matches the FIPS 180-2 test vectors")
{
  CHECK(util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(util::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(util::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("incremental updates equal one update")
{
  util::Sha256 hasher;
  hasher.update("ab");
  hasher.update("c");
  CHECK(hasher.hex_final() == util::sha256_hex("abc"));
}

TEST_CASE("sha256_file reads files larger than one block")
{
  test::ScratchDir dir;
  const std::string big(util::k_io_block * 2 + 17, 'a');
  test::write_text(dir / "big", big);
  CHECK(util::sha256_file(dir / "big") == util::sha256_hex(big));
  CHECK(util::sha256_file(dir / "big") != util::sha256_hex(big.substr(1)));
}

TEST_CASE("sha256_file of a missing file names the path")
{
  test::ScratchDir dir;
  try {
    (void)util::sha256_file(dir / "nope");
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("cannot open " + (dir / "nope").string()) == 0);
    CHECK(std::string(error.what()).find("No such file or directory") != std::string::npos);
  }
}

TEST_CASE("is_sha256_hex")
{
  CHECK(util::is_sha256_hex(util::sha256_hex("x")));
  CHECK_FALSE(util::is_sha256_hex("abc"));
  CHECK_FALSE(util::is_sha256_hex(std::string(64, 'G')));
}
