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

} // namespace modelkeep::core
