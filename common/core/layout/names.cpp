#include "core/layout/names.hpp"

#include "core/layout/filenames.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace modelkeep::core {

namespace {

constexpr std::string_view k_lower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view k_lower_digits = "abcdefghijklmnopqrstuvwxyz0123456789";

// Names in versions/ beside the stage links, and words that would read as something else.
constexpr std::string_view k_reserved_stages[] = {filenames::latest, filenames::ab, filenames::monitor,
                                                  "hooks",           "events",      "registry"};
constexpr std::string_view k_reserved_segments[] = {filenames::versions,     filenames::backups,
                                                    filenames::consolidated, filenames::hooks,
                                                    filenames::catalog,      filenames::legacy_catalog};

bool version_like(std::string_view name)
{
  return !name.empty() && name.front() == 'v' && (name.size() == 1 || (name[1] >= '0' && name[1] <= '9'));
}

} // namespace

const NameRule k_stage_rule{"stage name",
                            k_lower,
                            "abcdefghijklmnopqrstuvwxyz0123456789_-",
                            64,
                            k_reserved_stages,
                            "use [a-z][a-z0-9_-]*, at most 64 characters, not latest, ab, monitor or a "
                            "version-like v<digit>"};
const NameRule k_test_rule{"A/B test id",
                           k_lower_digits,
                           "abcdefghijklmnopqrstuvwxyz0123456789_.-",
                           64,
                           {},
                           "use [a-z0-9][a-z0-9_.-]*, at most 64 characters"};
const NameRule k_backup_type_rule{"backup type",
                                  k_lower,
                                  "abcdefghijklmnopqrstuvwxyz0123456789_",
                                  64,
                                  {},
                                  "use lower case letters, digits and _, starting with a letter"};
const NameRule k_model_segment_rule{
    "model name",
    k_lower_digits,
    "abcdefghijklmnopqrstuvwxyz0123456789_.-",
    k_max_model_name,
    k_reserved_segments,
    "each part between slashes must be lower-case letters, digits, '_', '.' or '-', starting with a letter "
    "or digit (e.g. creamy_chicken or pattern_classifier/trending/btcusdt)"};

bool follows(const NameRule& rule, std::string_view name)
{
  return !name.empty() && name.size() <= rule.max_length &&
         rule.first.find(name.front()) != std::string_view::npos &&
         name.find_first_not_of(rule.rest) == std::string_view::npos &&
         std::find(rule.reserved.begin(), rule.reserved.end(), name) == rule.reserved.end();
}

void validate_name(const NameRule& rule, std::string_view name)
{
  if (!follows(rule, name)) {
    throw Error(ExitCode::usage, "invalid " + std::string(rule.what) + " '" + util::printable(name) +
                                     "': " + std::string(rule.grammar));
  }
}

bool is_stage_name(std::string_view name)
{
  return follows(k_stage_rule, name) && !version_like(name);
}

void validate_stage_name(std::string_view name)
{
  validate_name(k_stage_rule, name);
  if (version_like(name)) {
    throw Error(ExitCode::usage,
                "invalid stage name '" + std::string(name) + "': " + std::string(k_stage_rule.grammar));
  }
}

void validate_test_id(std::string_view id)
{
  validate_name(k_test_rule, id);
}

void validate_backup_type(std::string_view type)
{
  validate_name(k_backup_type_rule, type);
}

void validate_model_name(std::string_view name)
{
  const auto refuse = [&](const std::string& why) {
    throw Error(ExitCode::usage, "bad model name '" + util::printable(name) + "': " + why);
  };
  if (name.empty()) {
    refuse("empty");
  }
  if (name.size() > k_max_model_name) {
    refuse("longer than " + std::to_string(k_max_model_name) + " characters");
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string_view segment = name.substr(start, slash - start);
    if (std::find(std::begin(k_reserved_segments), std::end(k_reserved_segments), segment) !=
        std::end(k_reserved_segments)) {
      refuse("'" + util::printable(segment) + "' is a part of a model's layout");
    }
    if (!follows(k_model_segment_rule, segment)) {
      refuse(std::string(k_model_segment_rule.grammar));
    }
    if (slash == std::string_view::npos) {
      return;
    }
    start = slash + 1;
  }
}

} // namespace modelkeep::core
