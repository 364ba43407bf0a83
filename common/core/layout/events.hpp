#pragma once

// The audit log: versions/events.jsonl, one JSON object per line, appended and fsynced by
// every command that changes what a model holds. It is the history (who held a stage when,
// which backup holds a deleted version), so its event kinds are a closed set.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelkeep::core {

class Store;

/// What an event records. The names on disk are those of event_name().
enum class EventKind {
  create,         ///< "create": a version was made
  delete_version, ///< "delete": a version was removed (its backup named)
  restore,        ///< "restore": a version's adapter was restored into a directory
  status,         ///< "status": a version's status was set
  tag,            ///< "tag": labels were set
  untag,          ///< "untag": labels were removed
  promote,        ///< "promote": a stage was moved forward
  rollback,       ///< "rollback": a stage was moved back (by hand or automatically)
  backup,         ///< "backup": a backup was made by backup-manager
  backup_restore, ///< "backup_restore": a backup was restored
  backup_delete,  ///< "backup_delete": a backup was deleted
  backup_cleanup, ///< "backup_cleanup": a retention run deleted backups
  consolidate,    ///< "consolidate": an adapter was merged into its base
  ab_create,      ///< "ab_create"
  ab_start,       ///< "ab_start"
  ab_canary,      ///< "ab_canary"
  ab_conclude,    ///< "ab_conclude"
  monitor_alert,  ///< "monitor_alert": a trigger fired without a rollback
  offsite_push,   ///< "offsite_push": a backup was sent off the machine (repository, snapshot)
  offsite_forget, ///< "offsite_forget": remote copies were forgotten on purpose (snapshots)
  repair,         ///< "repair": damaged content was restored from an intact copy
};

/// The name of a kind in the log ("delete" for delete_version).
[[nodiscard]] std::string_view event_name(EventKind kind);

/// The kind of a logged event, or nullopt for a kind this release does not know (a later
/// release's events are kept and shown, never misread).
[[nodiscard]] std::optional<EventKind> event_kind(const nlohmann::json& event);

/// True if `event` is of kind `kind`.
[[nodiscard]] bool is_event(const nlohmann::json& event, EventKind kind);

/// Appends one event of `kind` with `fields` (a JSON object) to the model's audit log
/// (versions/events.jsonl) as a single line, adding "event", time, user, host and pid, and
/// fsyncs it; a torn last line from a crash is skipped by readers. Returns the event as written.
nlohmann::json append_event(const Store& store, EventKind kind,
                            nlohmann::json fields = nlohmann::json::object());

/// Every event of the model's log in order; torn or unparseable lines are skipped.
[[nodiscard]] std::vector<nlohmann::json> read_events(const Store& store);

} // namespace modelkeep::core
