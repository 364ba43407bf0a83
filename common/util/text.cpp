#include "util/text.hpp"

#include <charconv>
#include <cstdio>

namespace modelkeep::util {

std::string slugify(std::string_view text, std::size_t max_length)
{
  std::string slug;
  bool pending_separator = false;
  for (const char raw : text) {
    char c = raw;
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (pending_separator && !slug.empty()) {
        slug += '_';
      }
      pending_separator = false;
      slug += c;
    } else {
      pending_separator = true;
    }
    if (slug.size() >= max_length) {
      break;
    }
  }
  slug.resize(std::min(slug.size(), max_length));
  while (!slug.empty() && slug.back() == '_') {
    slug.pop_back();
  }
  return slug.empty() ? "untitled" : slug;
}

std::string plural(std::uint64_t count, std::string_view noun, std::string_view plural_noun)
{
  std::string text = std::to_string(count) + ' ';
  if (count == 1) {
    return text.append(noun);
  }
  return plural_noun.empty() ? text.append(noun).append("s") : text.append(plural_noun);
}

std::string human_size(std::uint64_t bytes)
{
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(k_units)) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", value, k_units[unit]);
  return buffer;
}

bool parse_uint(std::string_view text, std::uint64_t& value)
{
  if (text.empty()) {
    return false;
  }
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  return result.ec == std::errc() && result.ptr == end;
}

std::vector<std::string> split(std::string_view text, char separator)
{
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto pos = text.find(separator, start);
    if (pos == std::string_view::npos) {
      parts.emplace_back(text.substr(start));
      return parts;
    }
    parts.emplace_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string>& items, std::string_view separator)
{
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      text += separator;
    }
    text += items[i];
  }
  return text;
}

bool is_utf8(std::string_view text)
{
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        return false;
      }
      code = (code << 6) | (next & 0x3F);
    }
    const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < least[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string printable(std::string_view text, std::size_t max_length)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max_length) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += k_hex[byte >> 4U];
      out += k_hex[byte & 0xfU];
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string fixed(double value, int places)
{
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", places, value);
  return text;
}

std::string significant(double value, int digits)
{
  char text[64];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

} // namespace modelkeep::util
