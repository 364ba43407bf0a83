#include "core/tree/verification.hpp"

#include "util/enum_names.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace modelkeep::core {

using nlohmann::json;

namespace {

constexpr std::string_view k_depths[] = {"quick", "full"};
constexpr std::string_view k_states[] = {"unverified", "verified", "failed"};

std::string text(const json& doc, const char* key)
{
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> texts(const json& doc, const char* key)
{
  std::vector<std::string> out;
  const auto it = doc.find(key);
  if (it != doc.end() && it->is_array()) {
    for (const auto& item : *it) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

} // namespace

std::string_view to_string(CheckDepth depth)
{
  return util::enum_name(k_depths, depth);
}

std::string_view to_string(TrustState state)
{
  return util::enum_name(k_states, state);
}

VerificationRecord VerificationRecord::apply(CheckDepth check_depth, std::vector<std::string> check_names,
                                             std::vector<std::string> found, const std::string& now) const
{
  VerificationRecord next = *this;
  next.checked_at = now;
  next.depth = check_depth;
  next.checks = std::move(check_names);
  if (!found.empty()) {
    if (state != TrustState::failed) {
      next.failed_at = now;
    }
    next.state = TrustState::failed;
    next.problems = std::move(found);
    return next;
  }
  if (check_depth == CheckDepth::full) {
    next.state = TrustState::verified;
    next.full_verified_at = now;
    next.failed_at.clear();
    next.problems.clear();
  }
  // A quick check that passes leaves the state as it was: it cannot see a flipped byte.
  return next;
}

json VerificationRecord::to_json() const
{
  return {{"state", to_string(state)},
          {"result", to_string(state)},
          {"verified_at", checked_at},
          {"depth", to_string(depth)},
          {"checks", checks},
          {"problems", problems},
          {"full_verified_at", full_verified_at.empty() ? json(nullptr) : json(full_verified_at)},
          {"failed_at", failed_at.empty() ? json(nullptr) : json(failed_at)}};
}

VerificationRecord VerificationRecord::from_json(const json& doc)
{
  VerificationRecord record;
  if (!doc.is_object()) {
    return record;
  }
  record.checked_at = text(doc, "verified_at");
  record.checks = texts(doc, "checks");
  record.problems = texts(doc, "problems");
  record.full_verified_at = text(doc, "full_verified_at");
  record.failed_at = text(doc, "failed_at");
  const bool hashed = std::find(record.checks.begin(), record.checks.end(), "sha256") != record.checks.end();
  record.depth = util::parse_enum<CheckDepth>(k_depths, text(doc, "depth"))
                     .value_or(hashed ? CheckDepth::full : CheckDepth::quick);
  if (const auto state = util::parse_enum<TrustState>(k_states, text(doc, "state"))) {
    record.state = *state;
    return record;
  }
  // A record of 0.1: "verified" after a full check counts; after a quick one it proves nothing.
  const std::string result = text(doc, "result");
  if (result == "failed") {
    record.state = TrustState::failed;
    record.failed_at = record.checked_at;
  } else if (result == "verified" && record.depth == CheckDepth::full) {
    record.state = TrustState::verified;
    record.full_verified_at = record.checked_at;
  }
  return record;
}

} // namespace modelkeep::core
