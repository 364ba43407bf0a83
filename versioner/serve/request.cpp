#include "serve/request.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <cmath>

namespace modelkeep::serve {

using nlohmann::json;

namespace {

int hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string decoded(std::string_view text, bool plus_is_space, const std::string& what)
{
  auto out = percent_decode(text, plus_is_space);
  if (!out) {
    throw Error(ExitCode::usage, "malformed percent-escape in " + what);
  }
  check_text(*out, what);
  return *out;
}

} // namespace

void check_text(const std::string& text, const std::string& what)
{
  if (text.find('\0') != std::string::npos) {
    throw Error(ExitCode::usage, what + " contains a NUL character");
  }
  if (!util::is_utf8(text)) {
    throw Error(ExitCode::usage, what + " is not valid UTF-8");
  }
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt; // "%" or "%A" at the end
      }
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Target Target::parse(std::string_view target)
{
  Target parsed;
  const auto question = target.find('?');
  parsed.path = std::string(target.substr(0, question));
  std::size_t start = 0;
  while (start <= parsed.path.size()) {
    const auto slash = parsed.path.find('/', start);
    const auto end = slash == std::string::npos ? parsed.path.size() : slash;
    if (end > start) {
      parsed.segments.push_back(
          decoded(std::string_view(parsed.path).substr(start, end - start), false, "a path segment"));
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  if (question == std::string::npos) {
    return parsed;
  }
  for (const auto& pair : util::split(std::string(target.substr(question + 1)), '&')) {
    if (pair.empty()) {
      continue;
    }
    const auto eq = pair.find('=');
    const std::string key = decoded(std::string_view(pair).substr(0, eq), true, "a query parameter name");
    const std::string value = eq == std::string::npos ? std::string()
                                                      : decoded(std::string_view(pair).substr(eq + 1), true,
                                                                "query parameter '" + key + "'");
    if (!parsed.query.emplace(key, value).second) {
      throw Error(ExitCode::usage, "query parameter '" + key + "' is given twice");
    }
  }
  return parsed;
}

Fields::Fields(json doc, std::string what, bool from_text)
    : m_doc(std::move(doc)), m_what(std::move(what)), m_from_text(from_text)
{
  if (!m_doc.is_object()) {
    throw Error(ExitCode::malformed, "the body must be a JSON object");
  }
}

const json* Fields::find(const std::string& key)
{
  m_read.insert(key);
  const auto it = m_doc.find(key);
  return it == m_doc.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::string> Fields::text(const std::string& key)
{
  const json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_string()) {
    throw Error(ExitCode::usage, m_what + " '" + key + "' must be a string");
  }
  const auto& text = value->get_ref<const std::string&>();
  check_text(text, m_what + " '" + key + "'");
  return text;
}

std::string Fields::required_text(const std::string& key)
{
  auto value = text(key);
  if (!value || value->empty()) {
    throw Error(ExitCode::usage, m_what + " '" + key + "' (a string) is required");
  }
  return *value;
}

std::optional<double> Fields::number(const std::string& key)
{
  const json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number()) {
    return value->get<double>();
  }
  if (m_from_text && value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    try {
      std::size_t used = 0;
      const double parsed = std::stod(text, &used);
      if (used == text.size() && std::isfinite(parsed)) {
        return parsed;
      }
    } catch (const std::exception&) {
    }
  }
  throw Error(ExitCode::usage, m_what + " '" + key + "' must be a number");
}

std::optional<std::uint64_t> Fields::count(const std::string& key)
{
  const json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number_unsigned() || (value->is_number_integer() && value->get<std::int64_t>() >= 0)) {
    return value->get<std::uint64_t>();
  }
  std::uint64_t parsed = 0;
  if (m_from_text && value->is_string() && util::parse_uint(value->get_ref<const std::string&>(), parsed)) {
    return parsed;
  }
  throw Error(ExitCode::usage, m_what + " '" + key + "' must be a non-negative integer");
}

std::optional<bool> Fields::flag(const std::string& key)
{
  const json* value = find(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_boolean()) {
    return value->get<bool>();
  }
  if (m_from_text && value->is_string() && (*value == "true" || *value == "false")) {
    return *value == "true";
  }
  throw Error(ExitCode::usage, m_what + " '" + key + "' must be true or false");
}

void Fields::finish() const
{
  for (const auto& [key, value] : m_doc.items()) {
    if (m_read.count(key) == 0) {
      throw Error(ExitCode::usage, "unknown " + m_what + " '" + key + "'");
    }
  }
}

Fields query_fields(const std::map<std::string, std::string>& query)
{
  json doc = json::object();
  for (const auto& [key, value] : query) {
    doc[key] = value;
  }
  return Fields(std::move(doc), "query parameter", true);
}

} // namespace modelkeep::serve
