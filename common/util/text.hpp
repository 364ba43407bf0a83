#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::util {

/// A name-safe slug: lower case ASCII letters and digits, Latin letters with diacritics spelled
/// in ASCII ("Über" -> "uber", "ß" -> "ss"), letters of other scripts kept as they are (UTF-8),
/// runs of anything else one '_', no leading or trailing '_', at most `max_length` bytes (never
/// cutting a character); "untitled" if nothing is left.
[[nodiscard]] std::string slugify(std::string_view text, std::size_t max_length = 40);

/// Bytes in binary units with one decimal ("1.5 GiB", "512 B").
[[nodiscard]] std::string human_size(std::uint64_t bytes);

/// "1 file", "2 files": `count` and `noun`, with an s unless count is 1 (nouns whose plural
/// is not noun + "s" give it as `plural_noun`).
[[nodiscard]] std::string plural(std::uint64_t count, std::string_view noun, std::string_view plural_noun = {});

/// Parses a non-negative decimal integer that must fill the whole string.
[[nodiscard]] bool parse_uint(std::string_view text, std::uint64_t& value);

/// `value` with `places` decimals ("0.910"), and with `digits` significant digits ("0.0312").
[[nodiscard]] std::string fixed(double value, int places);
[[nodiscard]] std::string significant(double value, int digits);

/// Splits at every occurrence of `separator`.
[[nodiscard]] std::vector<std::string> split(std::string_view text, char separator);

/// The items with `separator` between them.
[[nodiscard]] std::string join(const std::vector<std::string>& items, std::string_view separator);

/// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
[[nodiscard]] bool is_utf8(std::string_view text);

/// `text` fit for a message: control and non-ASCII bytes as \xNN, cut after `max_length`
/// characters with "...".
[[nodiscard]] std::string printable(std::string_view text, std::size_t max_length = 80);

} // namespace modelkeep::util
