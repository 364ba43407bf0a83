#pragma once

// JSON documents that both the CLI (--json) and the HTTP API produce, built in one place so
// that one schema serves both.

#include "core/telemetry/ab.hpp"
#include "core/telemetry/observation.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace modelkeep::app {

/// `ab route --json`: the variant, version and adapter chosen for one request.
inline nlohmann::json ab_route_document(const std::string& test, const core::AbRoute& route)
{
  return {{"test", test},
          {"variant", core::to_string(route.variant)},
          {"version", route.version},
          {"adapter", route.adapter}};
}

/// `ab record --json`: the recorded observation.
inline nlohmann::json ab_record_document(const std::string& test, core::Variant variant,
                                         const core::Observation& observation)
{
  nlohmann::json doc = observation.to_json();
  doc["test"] = test;
  doc["variant"] = core::to_string(variant);
  doc["recorded"] = true;
  return doc;
}

} // namespace modelkeep::app
