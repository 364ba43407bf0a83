#include "util/text.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;

TEST_CASE("slugify keeps letters (Latin ones spelled in ASCII), collapses the rest and caps the length")
{
  CHECK(util::slugify("Math training 10k examples") == "math_training_10k_examples");
  CHECK(util::slugify("  --Initial   Training!!  ") == "initial_training");
  CHECK(util::slugify("ÄÖÜ") == "aou");
  CHECK(util::slugify("Über-Training") == "uber_training");
  CHECK(util::slugify("Straße Łódź Œuvre") == "strasse_lodz_oeuvre");
  CHECK(util::slugify("日本語") == "日本語");
  CHECK(util::slugify("Обучение v2") == "Обучение_v2"); // other scripts keep their case
  CHECK(util::slugify("emoji 🚀 ok") == "emoji_ok");
  CHECK(util::slugify(std::string("bad \xff byte")) == "bad_byte");
  // Never cut inside a character: 14 three-byte characters do not fit in 40 bytes.
  const auto cjk = util::slugify("日日日日日日日日日日日日日日");
  CHECK(cjk.size() == 39);
  CHECK(util::is_utf8(cjk));
  CHECK(util::slugify("") == "untitled");
  CHECK(util::slugify("a.b/c\\d") == "a_b_c_d");
  const auto long_slug = util::slugify(std::string(100, 'x') + " y");
  CHECK(long_slug.size() == 40);
  CHECK(util::slugify("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb").back() != '_');
}

TEST_CASE("plural adds an s unless the count is 1")
{
  CHECK(util::plural(0, "file") == "0 files");
  CHECK(util::plural(1, "file") == "1 file");
  CHECK(util::plural(2, "critical file") == "2 critical files");
  CHECK(util::plural(3, "copy", "copies") == "3 copies");
  CHECK(util::plural(1, "copy", "copies") == "1 copy");
}

TEST_CASE("human_size uses binary units")
{
  CHECK(util::human_size(0) == "0 B");
  CHECK(util::human_size(1023) == "1023 B");
  CHECK(util::human_size(1536) == "1.5 KiB");
  CHECK(util::human_size(std::uint64_t{3} << 30) == "3.0 GiB");
}

TEST_CASE("parse_uint accepts only whole non-negative numbers")
{
  std::uint64_t value = 0;
  CHECK(util::parse_uint("42", value));
  CHECK(value == 42);
  CHECK_FALSE(util::parse_uint("", value));
  CHECK_FALSE(util::parse_uint("-1", value));
  CHECK_FALSE(util::parse_uint("4x", value));
  CHECK_FALSE(util::parse_uint("99999999999999999999999", value));
}

TEST_CASE("split keeps empty parts")
{
  CHECK(util::split("a/b//c", '/') == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(util::split("", '/') == std::vector<std::string>{""});
}
