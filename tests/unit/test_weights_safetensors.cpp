#include "core/weights/safetensors.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <cstring>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

/// A file with the given header JSON (padded) and `data_bytes` bytes of data.
void write_raw(const fs::path& path, const std::string& header, std::size_t data_bytes,
               std::uint64_t claimed = 0)
{
  std::string text = header;
  std::uint64_t n = claimed != 0 ? claimed : text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  test::write_text(path, out + text + std::string(data_bytes, '\x01'));
}

void expect_bad(const fs::path& path, const char* cause)
{
  try {
    (void)core::SafetensorsFile::open(path);
    FAIL("expected a malformed-input error");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::malformed);
    CHECK(std::string(error.what()).find(cause) != std::string::npos);
  }
}

} // namespace

TEST_CASE("write then read a safetensors file")
{
  test::ScratchDir dir;
  const std::vector<core::TensorSpec> specs = {
      {"a", core::DType::F32, {2, 3}}, {"b", core::DType::BF16, {4}}, {"empty", core::DType::I64, {0}}};
  {
    core::SafetensorsWriter writer(dir / "t.safetensors", specs, {{"format", "pt"}});
    std::vector<std::byte> a(24, std::byte{7});
    writer.write(std::span(a).first(10));
    writer.write(std::span(a).subspan(10));
    std::vector<std::byte> b(8, std::byte{9});
    writer.write(b);
    CHECK(writer.current() == nullptr);
    writer.finish();
  }
  const auto file = core::SafetensorsFile::open(dir / "t.safetensors");
  REQUIRE(file.tensors().size() == 3);
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.find("a")->shape == std::vector<std::uint64_t>{2, 3});
  CHECK(file.data(*file.find("b")).size() == 8);
  CHECK(std::to_integer<int>(file.data(*file.find("b"))[0]) == 9);
  CHECK(file.data_start() % 8 == 0);
}

TEST_CASE("an incomplete write is refused")
{
  test::ScratchDir dir;
  core::SafetensorsWriter writer(dir / "t.safetensors", {{"a", core::DType::F32, {2}}}, {});
  std::vector<std::byte> half(4);
  writer.write(half);
  CHECK_THROWS_AS(writer.finish(), Error);
}

TEST_CASE("hostile files are refused as malformed")
{
  test::ScratchDir dir;
  test::write_text(dir / "short", "abc");
  expect_bad(dir / "short", "shorter than");
  write_raw(dir / "huge", "{}", 0, 200'000'000);
  expect_bad(dir / "huge", "exceeds the limit");
  write_raw(dir / "beyond", "{}", 0, 4096);
  expect_bad(dir / "beyond", "larger than the file");
  write_raw(dir / "notjson", "{nope", 0);
  expect_bad(dir / "notjson", "not valid JSON");
  write_raw(
      dir / "dup",
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
      2);
  expect_bad(dir / "dup", "duplicate tensor name a");
  write_raw(dir / "dtype", R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}})", 1);
  expect_bad(dir / "dtype", "unknown dtype");
  write_raw(dir / "mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4);
  expect_bad(dir / "mismatch", "need 8");
  write_raw(
      dir / "overlap",
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
      3);
  expect_bad(dir / "overlap", "overlapping or with a gap");
  write_raw(dir / "gap", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2);
  expect_bad(dir / "gap", "starts at 1, not at 0");
  write_raw(dir / "oob", R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 2);
  expect_bad(dir / "oob", "but the file has");
  write_raw(dir / "trailing", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 5);
  expect_bad(dir / "trailing", "but the file has");
  write_raw(dir / "overflow", R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
            8);
  expect_bad(dir / "overflow", "overflows");
  write_raw(dir / "negative", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1);
  expect_bad(dir / "negative", "non-negative");
  write_raw(dir / "meta", R"({"__metadata__":{"x":1}})", 0);
  expect_bad(dir / "meta", "not a string");
}

TEST_CASE("headers are padded to 8 bytes")
{
  const auto header = core::safetensors_header({{"x", core::DType::U8, {3}}}, {});
  CHECK(header.size() % 8 == 0);
}

TEST_CASE("hostile numbers in a safetensors header are refused as malformed, without a huge allocation")
{
  // The seeds of the fuzz corpus: a 2 GiB header length, an offset beyond 2^63, a shape whose
  // element count overflows 64 bits, and a header nested 10,000 deep.
  const fs::path corpus = fs::path(MODELKEEP_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "safetensors";
  for (const char* name :
       {"header-2GB", "offset-2^63", "shape-overflow", "deep-header", "overlap", "empty"}) {
    CAPTURE(name);
    try {
      (void)core::SafetensorsFile::open(corpus / name);
      FAIL("accepted " << name);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::malformed);
    }
  }
  CHECK(core::SafetensorsFile::open(corpus / "valid").tensors().size() == 1);
}
