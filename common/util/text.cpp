#include "util/text.hpp"

#include <charconv>
#include <cstdio>

namespace modelkeep::util {

namespace {

/// The code point starting at text[i] and its length in bytes; length 0 for a byte that does
/// not start a well-formed sequence (overlong forms, surrogates and code points past U+10FFFF
/// are not well formed).
std::pair<std::uint32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i)
{
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    return {c, 1};
  }
  std::size_t length = 0;
  std::uint32_t code = 0;
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
    return {0, 0};
  }
  if (i + length > text.size()) {
    return {0, 0};
  }
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) {
      return {0, 0};
    }
    code = (code << 6) | (next & 0x3F);
  }
  const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < least[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return {0, 0};
  }
  return {code, length};
}

/// The ASCII spelling of a Latin letter with a diacritic (U+00C0-U+017F), "" for the rest.
std::string_view latin_ascii(std::uint32_t code)
{
  // U+00C0-U+00FF, one entry each; "" for the multiplication and division signs.
  static constexpr std::string_view k_latin1[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  if (code >= 0xC0 && code <= 0xFF) {
    return k_latin1[code - 0xC0];
  }
  // Latin Extended-A: runs of one base letter (upper and lower case alternate).
  struct Run {
    std::uint32_t last;
    std::string_view ascii;
  };
  static constexpr Run k_extended_a[] = {
      {0x105, "a"}, {0x10D, "c"}, {0x111, "d"}, {0x11B, "e"},  {0x123, "g"}, {0x127, "h"}, {0x131, "i"},
      {0x133, "ij"}, {0x135, "j"}, {0x138, "k"}, {0x142, "l"}, {0x14B, "n"}, {0x151, "o"}, {0x153, "oe"},
      {0x159, "r"}, {0x161, "s"}, {0x167, "t"}, {0x173, "u"},  {0x175, "w"}, {0x178, "y"}, {0x17E, "z"},
      {0x17F, "s"}};
  if (code >= 0x100 && code <= 0x17F) {
    for (const auto& run : k_extended_a) {
      if (code <= run.last) {
        return run.ascii;
      }
    }
  }
  return {};
}

/// Whether a code point past Latin is kept in a slug as it is: letters and digits of other
/// scripts (Greek, Cyrillic, CJK, ...), not punctuation, symbols, emoji or private use.
bool kept_as_is(std::uint32_t code)
{
  return code >= 0x370 && !(code >= 0x2000 && code <= 0x2BFF) && !(code >= 0x3000 && code <= 0x303F) &&
         !(code >= 0xE000 && code <= 0xF8FF) && !(code >= 0xFE00 && code <= 0xFE4F) &&
         !(code >= 0xFF00 && code <= 0xFF20) && code < 0x1F000;
}

} // namespace

std::string slugify(std::string_view text, std::size_t max_length)
{
  std::string slug;
  bool pending_separator = false;
  const auto append = [&](std::string_view piece) {
    if (slug.size() + piece.size() + (pending_separator && !slug.empty() ? 1 : 0) > max_length) {
      return false;
    }
    if (pending_separator && !slug.empty()) {
      slug += '_';
    }
    pending_separator = false;
    slug += piece;
    return true;
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto [code, length] = decode_utf8(text, i);
    if (length == 0) {
      pending_separator = true; // a stray byte
      ++i;
      continue;
    }
    std::string piece;
    if ((code >= 'a' && code <= 'z') || (code >= '0' && code <= '9')) {
      piece = static_cast<char>(code);
    } else if (code >= 'A' && code <= 'Z') {
      piece = static_cast<char>(code - 'A' + 'a');
    } else if (const auto ascii = latin_ascii(code); !ascii.empty()) {
      piece = ascii; // "Über" -> "uber"
    } else if (kept_as_is(code)) {
      piece = text.substr(i, length); // "日本語" stays
    }
    i += length;
    if (piece.empty()) {
      pending_separator = true;
    } else if (!append(piece)) {
      break;
    }
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
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = decode_utf8(text, i).second;
    if (length == 0) {
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
