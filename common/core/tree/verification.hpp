#pragma once

// The one rule for what a check of a copy means (a version, a backup, a remote copy):
//  - a full check (every byte hashed) that passes makes the copy verified;
//  - any check that finds a problem makes it failed, and a failure stands until a later full
//    check of that copy passes;
//  - a quick check (count, sizes) that passes changes nothing: it never upgrades a failed or
//    never-verified copy, and never counts as full verification.
// Every command that records a check goes through VerificationRecord::apply().

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

/// How deep a check went.
enum class CheckDepth { quick, full };

/// What is known of a copy.
enum class TrustState { unverified, verified, failed };

[[nodiscard]] std::string_view to_string(CheckDepth depth);
[[nodiscard]] std::string_view to_string(TrustState state);

/// The verification state of one copy and the check that set it.
struct VerificationRecord {
  TrustState state = TrustState::unverified;
  std::string checked_at;       ///< the last check of any depth
  CheckDepth depth = CheckDepth::full; ///< the depth of that check
  std::vector<std::string> checks; ///< what that check compared
  std::vector<std::string> problems; ///< what the failing check found (empty unless failed)
  std::string full_verified_at; ///< the last full check that passed, or ""
  std::string failed_at;        ///< when the copy became failed, or ""

  /// The record after a check of `depth` at `now` that found `problems` (none: it passed),
  /// by the rule above.
  [[nodiscard]] VerificationRecord apply(CheckDepth check_depth, std::vector<std::string> check_names,
                                         std::vector<std::string> found, const std::string& now) const;

  /// True only for a copy whose last full check passed and that has not failed since.
  [[nodiscard]] bool verified() const noexcept { return state == TrustState::verified; }
  [[nodiscard]] bool failed() const noexcept { return state == TrustState::failed; }

  /// {"state", "result" (the same, for readers of 0.1), "verified_at" (last check), "depth",
  /// "checks", "problems", "full_verified_at", "failed_at"}.
  [[nodiscard]] nlohmann::json to_json() const;

  /// Reads to_json()'s output, and the records of 0.1 ({"result": "verified"|"failed",
  /// "verified_at", "checks"}: a "verified" result with a sha256 check was a full check). A
  /// missing or unreadable record is unverified.
  [[nodiscard]] static VerificationRecord from_json(const nlohmann::json& doc);
};

} // namespace modelkeep::core
