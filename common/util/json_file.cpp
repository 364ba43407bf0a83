#include "util/json_file.hpp"

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::util {

using nlohmann::json;

json parse_json(const std::string& text, const fs::path& path, std::string_view what_kind)
{
  try {
    return json::parse(text);
  } catch (const json::out_of_range& e) { // a number too large for JSON's doubles
    throw Error(ExitCode::malformed,
                "malformed " + std::string(what_kind) + " " + path.string() + ": " + e.what());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const std::size_t offset = e.byte > 0 ? std::min<std::size_t>(e.byte - 1, text.size()) : 0;
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    if (const auto colon = what.rfind(": "); colon != std::string::npos) {
      what = what.substr(colon + 2);
    }
    throw Error(ExitCode::malformed, "malformed " + std::string(what_kind) + " " + path.string() + ": line " +
                                         std::to_string(line) + ", column " + std::to_string(column) + ": " +
                                         what);
  }
}

json read_json_file(const fs::path& path, JsonLimit limit, std::string_view what)
{
  auto doc = read_json_file_if_exists(path, limit, what);
  if (!doc) {
    throw Error(ExitCode::not_found, "cannot open " + path.string() + ": " + errno_text(ENOENT));
  }
  return std::move(*doc);
}

std::optional<json> read_json_file_if_exists(const fs::path& path, JsonLimit limit, std::string_view what)
{
  const auto text = read_file_if_exists(path, bytes(limit));
  if (!text) {
    return std::nullopt;
  }
  return parse_json(*text, path, what);
}

void append_line(const fs::path& path, const std::string& line)
{
  const int raw = env().open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (raw < 0) {
    throw_errno("cannot open", path);
  }
  UniqueFd fd(raw);
  write_all(fd.get(), line, path);
  fd.close(path);
}

Tail read_tail(const fs::path& path, std::size_t count)
{
  Tail tail;
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) {
      return tail;
    }
    throw_errno("cannot open", path);
  }
  UniqueFd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat", path);
  }
  // Read backwards in blocks until the text holds count+1 line starts or the file's start.
  const off_t size = st.st_size;
  tail.end = static_cast<std::uint64_t>(size);
  off_t start = size;
  std::string text;
  std::size_t newlines = 0;
  constexpr off_t block = 64 * 1024;
  while (start > 0) {
    const off_t from = start > block ? start - block : 0;
    std::string chunk(static_cast<std::size_t>(start - from), '\0');
    const ssize_t n = ::pread(fd.get(), chunk.data(), chunk.size(), from);
    if (n != static_cast<ssize_t>(chunk.size())) {
      throw_errno("cannot read", path);
    }
    for (char c : chunk) {
      newlines += c == '\n' ? 1 : 0;
    }
    text.insert(0, chunk);
    start = from;
    if (newlines > count) {
      break;
    }
  }
  // Unless the file's start was reached, the first piece is a partial line.
  std::vector<std::string> lines = split(text, '\n');
  std::size_t first = 0;
  if (start > 0 && !lines.empty()) {
    first = 1;
  }
  for (std::size_t i = first; i < lines.size(); ++i) {
    json record = json::parse(lines[i], nullptr, false);
    if (!record.is_discarded() && record.is_object()) {
      tail.records.push_back(std::move(record));
    }
  }
  tail.complete = start == 0 && tail.records.size() <= count;
  if (tail.records.size() > count) {
    tail.records.erase(tail.records.begin(),
                       tail.records.begin() + static_cast<std::ptrdiff_t>(tail.records.size() - count));
  }
  return tail;
}

std::vector<json> read_json_lines(const fs::path& path)
{
  std::vector<json> records;
  const auto text = read_file_if_exists(path, bytes(JsonLimit::log));
  if (!text) {
    return records;
  }
  for (const auto& line : split(*text, '\n')) {
    json record = json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.is_object()) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

} // namespace modelkeep::util
