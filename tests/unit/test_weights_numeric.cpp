#include "core/weights/numeric.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>

using namespace modelkeep;

TEST_CASE("bfloat16 round trip and round to nearest even")
{
  CHECK(core::bf16_to_float(core::float_to_bf16(1.0F)) == 1.0F);
  CHECK(core::float_to_bf16(1.0F) == 0x3f80);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
  CHECK(core::float_to_bf16(1.0F + 0x1p-8F) == 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
  CHECK(core::float_to_bf16(1.0F + 3 * 0x1p-8F) == 0x3f82);
  CHECK(core::float_to_bf16(1.0F + 0x1p-8F + 0x1p-20F) == 0x3f81);
  CHECK(std::isnan(core::bf16_to_float(core::float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(core::bf16_to_float(core::float_to_bf16(-2.5F)) == -2.5F);
}

TEST_CASE("half precision round trip, subnormals and overflow")
{
  for (const float v : {0.0F, 1.0F, -2.0F, 0.5F, 65504.0F, 0x1p-14F, 0x1p-24F, 3 * 0x1p-24F, 1000.5F}) {
    CAPTURE(v);
    CHECK(core::f16_to_float(core::float_to_f16(v)) == v);
  }
  CHECK(core::float_to_f16(1.0F) == 0x3c00);
  CHECK(core::float_to_f16(70000.0F) == 0x7c00);
  CHECK(core::float_to_f16(-70000.0F) == 0xfc00);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even.
  CHECK(core::float_to_f16(1.0F + 0x1p-11F) == 0x3c00);
  CHECK(core::float_to_f16(1.0F + 3 * 0x1p-11F) == 0x3c02);
  CHECK(core::f16_to_float(0x0001) == 0x1p-24F);
  CHECK(std::isinf(core::f16_to_float(0x7c00)));
  // Exhaustive: every finite half converts to float and back unchanged.
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00) {
      continue;
    }
    REQUIRE(core::float_to_f16(core::f16_to_float(h)) == h);
  }
}
