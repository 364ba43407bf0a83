#pragma once

#include "core/weights/safetensors.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace modelkeep::core {

/// bfloat16 bits -> float (exact).
[[nodiscard]] float bf16_to_float(std::uint16_t bits);
/// float -> bfloat16 bits, rounding to nearest even (NaN stays NaN).
[[nodiscard]] std::uint16_t float_to_bf16(float value);
/// IEEE half bits -> float (exact, subnormals included).
[[nodiscard]] float f16_to_float(std::uint16_t bits);
/// float -> IEEE half bits, rounding to nearest even (overflow to infinity, NaN stays NaN).
[[nodiscard]] std::uint16_t float_to_f16(float value);

/// True for the dtypes whose values can be merged (F32, F16, BF16).
[[nodiscard]] bool is_mergeable(DType dtype);

/// Widens tensor bytes of a mergeable dtype (F32, F16, BF16, F64) to floats.
void to_float(std::span<const std::byte> bytes, DType dtype, std::span<float> out);

/// Narrows floats to a mergeable dtype's bytes, rounding to nearest even.
void from_float(std::span<const float> values, DType dtype, std::span<std::byte> out);

/// out = narrow(widen(base) + delta) in one pass over memory, bit for bit what to_float, an
/// add and from_float give (F32, F16, BF16 in and out); returns the largest |delta|.
double add_converted(std::span<const std::byte> base, DType in, std::span<const float> delta, DType out_dtype,
                     std::span<std::byte> out);

/// How far apart two tensors of one dtype are, element by element, in units in the last place:
/// the number of representable values between them (+0 and -0 are equal; a NaN against any
/// other bits is k_unequal). Other dtypes than F32, F16, BF16 compare bytes: 0 or k_unequal.
struct UlpDistance {
  static constexpr std::uint64_t k_unequal = ~std::uint64_t{0};
  std::uint64_t max = 0;       ///< the largest distance
  std::uint64_t at = 0;        ///< the element where it is
  std::uint64_t differing = 0; ///< elements that are not equal
};
/// Error(malformed) if the spans differ in size.
[[nodiscard]] UlpDistance ulp_distance(std::span<const std::byte> expected, std::span<const std::byte> actual,
                                       DType dtype);

} // namespace modelkeep::core
