#pragma once

// What an HTTP request says, read strictly: the target's path segments (percent-decoded per
// RFC 3986, where `+` is a plus), its query (form-decoded, where `+` is a space), and a JSON
// body read field by field with the types checked. Every string that comes out is valid UTF-8
// without NUL; anything else is Error(usage) naming the part.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::serve {

/// Decodes %XX escapes (and `+` as a space when `plus_is_space`, the query convention);
/// nullopt for a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// A request target: "/api/v1/versions/v001?limit=5".
struct Target {
  std::string path;                  ///< as sent, without the query
  std::vector<std::string> segments; ///< decoded, empty ones dropped
  std::map<std::string, std::string> query;

  /// Error(usage) for a malformed escape, a NUL or invalid UTF-8 in a segment, key or value,
  /// or a key given twice.
  [[nodiscard]] static Target parse(std::string_view target);
};

/// A JSON object of request fields, read with its types checked; fields nobody asked for are
/// refused by `finish()` (so a misspelt field is an error, not a silent default).
class Fields {
public:
  /// `what` names the source in messages ("field", "query parameter"). A body's values must
  /// have their JSON type; with `from_text` (a query, where every value is text) numbers and
  /// true/false are also read from strings.
  Fields(nlohmann::json doc, std::string what = "field", bool from_text = false);

  [[nodiscard]] std::optional<std::string> text(const std::string& key);
  [[nodiscard]] std::string required_text(const std::string& key);
  [[nodiscard]] std::optional<double> number(const std::string& key);
  [[nodiscard]] std::optional<std::uint64_t> count(const std::string& key); ///< a non-negative integer
  [[nodiscard]] std::optional<bool> flag(const std::string& key);           ///< true or false, nothing else
  /// Error(usage) naming the first field that was not read.
  void finish() const;

private:
  [[nodiscard]] const nlohmann::json* find(const std::string& key);

  nlohmann::json m_doc;
  std::string m_what;
  bool m_from_text = false;
  std::set<std::string> m_read;
};

/// The query of a target as Fields: every value text, numbers and flags parsed from it.
[[nodiscard]] Fields query_fields(const std::map<std::string, std::string>& query);

/// Checks a string from a request: valid UTF-8 and no NUL (Error(usage) naming `what` otherwise).
void check_text(const std::string& text, const std::string& what);

} // namespace modelkeep::serve
