#pragma once

// Every file and directory name modelkeep writes, in one place (as LevelDB's db/filename.h).
// Paths are built from these by Store (a model's directories) and by the room that owns each
// file; no other code spells a name on disk.
//
//   <root>/                              the store root; the default model lives here
//     catalog.json                       the catalog of every model (was registry.json)
//     hooks/on-rollback.d/               rollback hooks
//     .modelkeep/{config.json, offsite.lock, offsite.json, serve-token, catalog/lock}
//     <model>/                           a named model: the same layout as the default one
//   <model dir>/
//     versions/
//       vNNN_YYYYMMDD_HHMMSS_<slug>/{metadata.json, adapter/, evolution_snapshots/}
//       latest -> vNNN_...               the newest version; stages are links beside it
//       events.jsonl                     the audit log
//       index.json                       the list index (was registry.json)
//       ab/<test>/{test.json, predictions.jsonl (was events.jsonl), counter, lock}
//       monitor/<stage>/{thresholds.json, state.json, lock, <version>.jsonl}
//     backups/<type>/<name>_YYYYMMDD_HHMMSS/{backup.json, data/ | data.tar | data.tar.zst}
//     consolidated_models/
//     .modelkeep/{lock, next_version, config.json, statcache.json, objects/sha256/ab/cdef...}
//   <training dir>/.modelkeep-consolidation.json   a consolidation's journal
//
// Temporaries carry util::k_temp_marker (".tmp") and are removed by the next writer.

#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelkeep::core::filenames {

// A model's directories.
inline constexpr std::string_view versions = "versions";
inline constexpr std::string_view backups = "backups";
inline constexpr std::string_view consolidated = "consolidated_models";
inline constexpr std::string_view state = ".modelkeep";

// In the store root.
inline constexpr std::string_view catalog = "catalog.json";
inline constexpr std::string_view legacy_catalog = "registry.json"; ///< read when catalog.json is missing
inline constexpr std::string_view hooks = "hooks";
inline constexpr std::string_view rollback_hooks = "on-rollback.d"; ///< in hooks/

// In a .modelkeep/ directory.
inline constexpr std::string_view lock = "lock";
inline constexpr std::string_view next_version = "next_version";
inline constexpr std::string_view config = "config.json";
inline constexpr std::string_view stat_cache = "statcache.json";
inline constexpr std::string_view damaged_objects = "damaged.json"; ///< objects a verification found damaged
inline constexpr std::string_view objects = "objects";
inline constexpr std::string_view object_hash = "sha256"; ///< objects/sha256/ab/cdef...
inline constexpr std::string_view catalog_state = "catalog";
inline constexpr std::string_view offsite_lock = "offsite.lock";
inline constexpr std::string_view offsite_state = "offsite.json"; ///< state of each restic repository
inline constexpr std::string_view serve_token = "serve-token";
inline constexpr std::string_view stage_move = "stage-move.json"; ///< a stage move in progress (versions/refs)

// In versions/.
inline constexpr std::string_view latest = "latest";
inline constexpr std::string_view events = "events.jsonl";
inline constexpr std::string_view list_index = "index.json";
inline constexpr std::string_view legacy_list_index = "registry.json"; ///< read when index.json is missing
inline constexpr std::string_view ab = "ab";
inline constexpr std::string_view monitor = "monitor";

// In a version directory.
inline constexpr std::string_view metadata = "metadata.json";
inline constexpr std::string_view adapter = "adapter";
inline constexpr std::string_view snapshots = "evolution_snapshots";

// In a backup directory, and the types modelkeep itself makes.
inline constexpr std::string_view backup_record = "backup.json";
inline constexpr std::string_view backup_data = "data";
inline constexpr std::string_view backup_tar = "data.tar";
inline constexpr std::string_view backup_tar_zst = "data.tar.zst";
inline constexpr std::string_view pre_restore = "pre_restore";
inline constexpr std::string_view deleted_versions = "deleted_versions";
inline constexpr std::string_view pre_consolidation = "pre_consolidation";

// In an A/B test's directory (the lock is `lock`).
inline constexpr std::string_view ab_test = "test.json";
inline constexpr std::string_view ab_predictions = "predictions.jsonl";
inline constexpr std::string_view legacy_ab_predictions =
    "events.jsonl"; ///< read when predictions.jsonl is missing
inline constexpr std::string_view ab_counter = "counter";

// In a monitored stage's directory (the lock is `lock`; predictions are <version>.jsonl).
inline constexpr std::string_view thresholds = "thresholds.json";
inline constexpr std::string_view monitor_state = "state.json";
inline constexpr std::string_view predictions_suffix = ".jsonl";

// In a training directory.
inline constexpr std::string_view consolidation_journal = ".modelkeep-consolidation.json";

} // namespace modelkeep::core::filenames

namespace modelkeep::core {

/// "v001": the short id of a version number (3 digits, wider when needed).
[[nodiscard]] std::string version_id(std::uint64_t number);

/// "v001_20251116_143000_initial_training" from number, creation time and description.
[[nodiscard]] std::string version_dir_name(std::uint64_t number, util::SystemTime created,
                                           std::string_view description);

/// The version number if `name` is a version directory name, else nullopt.
[[nodiscard]] std::optional<std::uint64_t> parse_version_dir_name(std::string_view name);

} // namespace modelkeep::core
