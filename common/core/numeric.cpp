#include "core/numeric.hpp"

#include "util/error.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace modelkeep::core {

float bf16_to_float(std::uint16_t bits)
{
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t float_to_bf16(float value)
{
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  }
  const std::uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
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
      out[i] = bf16_to_float(load_u16(bytes.data() + 2 * i));
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
      store_u16(out.data() + 2 * i, float_to_bf16(values[i]));
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

} // namespace modelkeep::core
