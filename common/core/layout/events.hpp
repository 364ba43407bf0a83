#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace modelkeep::core {

class Store;

/// Appends one event to the store's audit log (versions/events.jsonl) as a single line,
/// adding time, user, host and pid, and fsyncs it. `event` must be a JSON object with at
/// least an "event" field; a torn last line from a crash is skipped by readers. Returns the
/// event as written.
nlohmann::json append_event(const Store& store, nlohmann::json event);

} // namespace modelkeep::core
