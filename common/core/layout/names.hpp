#pragma once

// The names users give to things that become names on disk — models, stages, A/B tests,
// backup types — checked by one rule each and one validator, so a name that passes can never
// leave its directory, collide with the layout, or mean two things.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace modelkeep::core {

/// The grammar of one kind of name: a first character, further characters, a length limit,
/// and words it may not be.
struct NameRule {
  std::string_view what;  ///< "stage name", for messages
  std::string_view first; ///< the characters a name may start with
  std::string_view rest;  ///< the characters that may follow
  std::size_t max_length = 0;
  std::span<const std::string_view> reserved;
  std::string_view grammar; ///< the rule in words, for messages
};

/// True if `name` follows `rule` (shape, length, not reserved).
[[nodiscard]] bool follows(const NameRule& rule, std::string_view name);

/// Throws Error(usage) "invalid <what> '<name>': <grammar>" unless `name` follows `rule`;
/// the name is echoed with control and non-UTF-8 bytes escaped.
void validate_name(const NameRule& rule, std::string_view name);

/// A stage: [a-z][a-z0-9_-]*, at most 64 characters, not a reserved name of versions/ and
/// not version-like ("v", "v3", "v3x"), so a stage can never be read as a version.
extern const NameRule k_stage_rule;
/// An A/B test id: [a-z0-9][a-z0-9_.-]*, at most 64 characters.
extern const NameRule k_test_rule;
/// A backup type: [a-z][a-z0-9_]*, at most 64 characters.
extern const NameRule k_backup_type_rule;
/// One segment of a model name: [a-z0-9][a-z0-9_.-]*, not a directory of a model's layout.
extern const NameRule k_model_segment_rule;
/// The longest model name (segments joined by '/').
inline constexpr std::size_t k_max_model_name = 128;

/// True if `name` has the shape of a stage name (k_stage_rule).
[[nodiscard]] bool is_stage_name(std::string_view name);

/// Throws Error(usage) unless `name` is a valid stage name (k_stage_rule).
void validate_stage_name(std::string_view name);

/// Throws Error(usage) unless `id` is a valid A/B test id (k_test_rule).
void validate_test_id(std::string_view id);

/// Throws Error(usage) unless `type` is a valid backup type (k_backup_type_rule).
void validate_backup_type(std::string_view type);

/// Throws Error(usage) unless `name` is a model name: one or more segments following
/// k_model_segment_rule joined by '/', at most k_max_model_name characters.
void validate_model_name(std::string_view name);

} // namespace modelkeep::core
