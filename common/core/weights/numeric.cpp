#include "core/weights/numeric.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace modelkeep::core {

namespace {

// Branch-free and inlined into the loops below, so that the compiler vectorises them (the
// merge's widen-add-round pass over every weight was its largest cost while these were calls
// with a branch per value).

inline float widen_bf16(std::uint16_t bits)
{
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

/// Round to nearest even; a NaN stays a NaN (quietened), as the branchy form did.
inline std::uint16_t narrow_bf16(float value)
{
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t rounded = (bits + 0x7fffU + ((bits >> 16) & 1U)) >> 16;
  const std::uint32_t quiet_nan = (bits >> 16) | 0x40U;
  return static_cast<std::uint16_t>((bits & 0x7fffffffU) > 0x7f800000U ? quiet_nan : rounded);
}

} // namespace

float bf16_to_float(std::uint16_t bits)
{
  return widen_bf16(bits);
}

std::uint16_t float_to_bf16(float value)
{
  return narrow_bf16(value);
}

float f16_to_float(std::uint16_t bits)
{
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1f;
  std::uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0x1f) {
    return std::bit_cast<float>(sign | 0x7f800000 | (mantissa << 13));
  }
  if (exponent == 0) {
    if (mantissa == 0) {
      return std::bit_cast<float>(sign);
    }
    // Subnormal half: value = mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24F;
    return sign != 0 ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::uint16_t float_to_f16(float value)
{
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  if (std::isnan(value)) {
    return static_cast<std::uint16_t>(sign | 0x7e00);
  }
  const float magnitude = std::fabs(value);
  if (magnitude >= 65520.0F) { // rounds to infinity
    return static_cast<std::uint16_t>(sign | 0x7c00);
  }
  if (magnitude < 0x1p-14F) {
    // Subnormal (or zero): scale to units of 2^-24 and round to nearest even.
    const float units = magnitude * 0x1p24F;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(units)));
  }
  const std::uint32_t abs_bits = bits & 0x7fffffff;
  const std::uint32_t rounded = abs_bits + 0xfff + ((abs_bits >> 13) & 1);
  const std::uint32_t exponent = (rounded >> 23) - 112;
  return static_cast<std::uint16_t>(sign | (exponent << 10) | ((rounded >> 13) & 0x3ff));
}

bool is_mergeable(DType dtype)
{
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

namespace {

std::uint16_t load_u16(const std::byte* p)
{
  std::uint16_t v = 0;
  std::memcpy(&v, p, 2);
  return v;
}

void store_u16(std::byte* p, std::uint16_t v)
{
  std::memcpy(p, &v, 2);
}

} // namespace

void to_float(std::span<const std::byte> bytes, DType dtype, std::span<float> out)
{
  const std::size_t n = out.size();
  switch (dtype) {
  case DType::F32:
    std::memcpy(out.data(), bytes.data(), n * 4);
    return;
  case DType::BF16:
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = widen_bf16(load_u16(bytes.data() + 2 * i));
    }
    return;
  case DType::F16:
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = f16_to_float(load_u16(bytes.data() + 2 * i));
    }
    return;
  case DType::F64:
    for (std::size_t i = 0; i < n; ++i) {
      double v = 0;
      std::memcpy(&v, bytes.data() + 8 * i, 8);
      out[i] = static_cast<float>(v);
    }
    return;
  default:
    throw Error(ExitCode::malformed, "cannot merge tensors of dtype " + std::string(dtype_name(dtype)));
  }
}

void from_float(std::span<const float> values, DType dtype, std::span<std::byte> out)
{
  const std::size_t n = values.size();
  switch (dtype) {
  case DType::F32:
    std::memcpy(out.data(), values.data(), n * 4);
    return;
  case DType::BF16:
    for (std::size_t i = 0; i < n; ++i) {
      store_u16(out.data() + 2 * i, narrow_bf16(values[i]));
    }
    return;
  case DType::F16:
    for (std::size_t i = 0; i < n; ++i) {
      store_u16(out.data() + 2 * i, float_to_f16(values[i]));
    }
    return;
  default:
    throw Error(ExitCode::malformed, "cannot write merged tensors as " + std::string(dtype_name(dtype)));
  }
}

namespace {

float load_value(const std::byte* base, DType in, std::size_t i)
{
  switch (in) {
  case DType::BF16:
    return widen_bf16(load_u16(base + 2 * i));
  case DType::F16:
    return f16_to_float(load_u16(base + 2 * i));
  default: {
    float v = 0;
    std::memcpy(&v, base + 4 * i, 4);
    return v;
  }
  }
}

/// The loop for one pair of dtypes, so that the compiler specialises (and vectorises) each.
template <DType In, DType Out>
double add_loop(const std::byte* base, const float* delta, std::byte* out, std::size_t n)
{
  // The largest |delta| kept as its bits: for numbers they order as the values do; a NaN is
  // left out (as std::max(largest, NaN) leaves it), so this reduction vectorises too.
  // (Signed: SSE2 has a signed 32-bit compare, not an unsigned one.)
  std::int32_t largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float d = delta[i];
    const auto magnitude = static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(d) & 0x7fffffffU);
    largest = std::max(largest, magnitude <= 0x7f800000 ? magnitude : 0);
    const float value = load_value(base, In, i) + d;
    if constexpr (Out == DType::BF16) {
      store_u16(out + 2 * i, narrow_bf16(value));
    } else if constexpr (Out == DType::F16) {
      store_u16(out + 2 * i, float_to_f16(value));
    } else {
      std::memcpy(out + 4 * i, &value, 4);
    }
  }
  return std::bit_cast<float>(static_cast<std::uint32_t>(largest));
}

template <DType In>
double add_loop_to(DType out_dtype, const std::byte* base, const float* delta, std::byte* out, std::size_t n)
{
  switch (out_dtype) {
  case DType::BF16:
    return add_loop<In, DType::BF16>(base, delta, out, n);
  case DType::F16:
    return add_loop<In, DType::F16>(base, delta, out, n);
  case DType::F32:
    return add_loop<In, DType::F32>(base, delta, out, n);
  default:
    throw Error(ExitCode::malformed, "cannot write merged tensors as " + std::string(dtype_name(out_dtype)));
  }
}

} // namespace

namespace {

/// The bits of a float of `width` bytes as a signed position on the number line (sign and
/// magnitude to two's complement), so that neighbours differ by one.
template <typename Bits> std::int64_t ordered(Bits bits)
{
  constexpr Bits sign = Bits{1} << (sizeof(Bits) * 8 - 1);
  const auto magnitude = static_cast<std::int64_t>(bits & static_cast<Bits>(~sign));
  return (bits & sign) != 0 ? -magnitude : magnitude;
}

template <typename Bits>
UlpDistance distances(std::span<const std::byte> expected, std::span<const std::byte> actual, Bits exponent_mask,
                      Bits mantissa_mask)
{
  UlpDistance result;
  const std::size_t n = expected.size() / sizeof(Bits);
  for (std::size_t i = 0; i < n; ++i) {
    Bits a{};
    Bits b{};
    std::memcpy(&a, expected.data() + i * sizeof(Bits), sizeof(Bits));
    std::memcpy(&b, actual.data() + i * sizeof(Bits), sizeof(Bits));
    if (a == b) {
      continue;
    }
    const auto nan = [&](Bits x) { return (x & exponent_mask) == exponent_mask && (x & mantissa_mask) != 0; };
    std::uint64_t d = 0;
    if (nan(a) || nan(b)) {
      d = UlpDistance::k_unequal;
    } else {
      const std::int64_t delta = ordered(a) - ordered(b);
      d = static_cast<std::uint64_t>(delta < 0 ? -delta : delta);
    }
    if (d == 0) {
      continue; // +0 and -0
    }
    ++result.differing;
    if (d > result.max) {
      result.max = d;
      result.at = i;
    }
  }
  return result;
}

} // namespace

UlpDistance ulp_distance(std::span<const std::byte> expected, std::span<const std::byte> actual, DType dtype)
{
  if (expected.size() != actual.size()) {
    throw Error(ExitCode::malformed, "cannot compare tensors of " + std::to_string(expected.size()) + " and " +
                                         std::to_string(actual.size()) + " bytes");
  }
  switch (dtype) {
  case DType::F32:
    return distances<std::uint32_t>(expected, actual, 0x7F800000u, 0x007FFFFFu);
  case DType::F16:
    return distances<std::uint16_t>(expected, actual, 0x7C00u, 0x03FFu);
  case DType::BF16:
    return distances<std::uint16_t>(expected, actual, 0x7F80u, 0x007Fu);
  default: {
    UlpDistance result;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (expected[i] != actual[i]) {
        ++result.differing;
        if (result.max == 0) {
          result.max = UlpDistance::k_unequal;
          result.at = i / dtype_size(dtype);
        }
      }
    }
    return result;
  }
  }
}

double add_converted(std::span<const std::byte> base, DType in, std::span<const float> delta, DType out_dtype,
                     std::span<std::byte> out)
{
  const std::size_t n = delta.size();
  switch (in) {
  case DType::BF16:
    return add_loop_to<DType::BF16>(out_dtype, base.data(), delta.data(), out.data(), n);
  case DType::F16:
    return add_loop_to<DType::F16>(out_dtype, base.data(), delta.data(), out.data(), n);
  case DType::F32:
    return add_loop_to<DType::F32>(out_dtype, base.data(), delta.data(), out.data(), n);
  default:
    throw Error(ExitCode::malformed, "cannot merge tensors of dtype " + std::string(dtype_name(in)));
  }
}

} // namespace modelkeep::core
