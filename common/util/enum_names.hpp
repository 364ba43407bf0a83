#pragma once

// One table of names per enum: the value's name on disk and in documents, and the value a
// name stands for. An enum's names are listed once, in the order of its values.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace modelkeep::util {

/// The name of `value` in `names` (listed in the order of the enum's values).
template <typename Enum, std::size_t N>
[[nodiscard]] constexpr std::string_view enum_name(const std::string_view (&names)[N], Enum value)
{
  return names[static_cast<std::size_t>(value)];
}

/// The value `text` names in `names`, or nullopt if it names none.
template <typename Enum, std::size_t N>
[[nodiscard]] constexpr std::optional<Enum> parse_enum(const std::string_view (&names)[N],
                                                       std::string_view text)
{
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

/// "a, b or c": the names, for a message that lists the choices.
template <std::size_t N> [[nodiscard]] std::string choices(const std::string_view (&names)[N])
{
  std::string text;
  for (std::size_t i = 0; i < N; ++i) {
    text += (i == 0 ? "" : i + 1 == N ? " or " : ", ");
    text += names[i];
  }
  return text;
}

} // namespace modelkeep::util
