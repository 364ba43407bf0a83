#pragma once

// Reading and labelling versions: list, show, status, next, history, diff.

#include "commands/session.hpp"
#include "core/layout/objects.hpp"
#include "core/versions/diff.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/semver.hpp"
#include "core/versions/version.hpp"
#include "core/versions/version_ops.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::commands {

/// `create`: the new version's metadata, where it is, and how its files were stored.
struct Created {
  core::VersionMetadata meta;
  std::string path;
  core::IngestStats stats;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// Snapshots `request.adapter` as the next version of the session's model (made if the store
/// does not exist yet); `tool_version` is recorded in the metadata.
Created create_version(const Session& session, const core::CreateRequest& request,
                       const std::string& tool_version);

struct RestoreOptions {
  std::string version;
  std::optional<std::string> to; ///< default: the directory the version was created from
};
/// `restore`: the version's adapter put back (what the target held backed up first).
struct Restored {
  std::string version;
  std::size_t files = 0;
  core::RestoreResult result;
  [[nodiscard]] nlohmann::json to_json() const;
};
Restored restore_version(const Session& session, const RestoreOptions& options);

struct ListOptions {
  std::optional<std::string> tag;    ///< KEY=VALUE, or KEY for any value
  std::size_t limit = 0;             ///< a page of at most this many (1-1000); 0: every version
  std::optional<std::string> cursor; ///< the page after this version directory name
};

/// `list`: the versions, oldest first.
struct VersionList {
  std::string root;
  std::string model;
  std::vector<core::ListedVersion> rows;
  std::optional<std::string> latest;
  std::map<std::string, std::string> stages; ///< stage -> version directory name
  bool paged = false;
  std::optional<std::string> next_cursor; ///< when paged and more follow

  [[nodiscard]] std::string marks_of(const core::ListedVersion& row) const; ///< "latest,production"
  /// A row's own fields (name, id, latest, stages, or the error) without its summary's.
  [[nodiscard]] nlohmann::json row_head(const core::ListedVersion& row) const;
  [[nodiscard]] nlohmann::json to_json() const;
  /// document(to_json()).dump() (the same document; keys in another order), written from the
  /// summaries' cached JSON text: what a server answers hundreds of times a second.
  [[nodiscard]] std::string to_json_text() const;
  /// Error(malformed) with the first version whose metadata cannot be read, if any.
  void require_readable() const;
};
[[nodiscard]] VersionList list_versions(const Session& session, const ListOptions& options);

/// `show`: everything recorded about one version.
struct ShownVersion {
  core::VersionDir version;
  core::VersionMetadata meta;
  bool latest = false;
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] ShownVersion show_version(const Session& session, const std::string& version);

struct StatusOptions {
  std::string version;
  std::string status;
  std::string reason;
};
/// `status`: a version's status set (statuses that name a stage follow the stage links).
struct StatusChange {
  std::string version;
  std::string status;
  [[nodiscard]] nlohmann::json to_json() const;
};
StatusChange set_status(const Session& session, const StatusOptions& options);

/// `tag` and `untag`: a version's labels after the change (logged, indexes refreshed).
struct TagChange {
  std::string version;
  std::map<std::string, std::string> tags;
  [[nodiscard]] nlohmann::json to_json() const;
};
/// Sets KEY=VALUE labels; Error(usage) for a key outside [A-Za-z0-9_.-].
TagChange tag_version(const Session& session, const std::string& version,
                      const std::map<std::string, std::string>& tags);
/// Removes labels; Error(not_found) (nothing changed) if one of the keys is not there.
TagChange untag_version(const Session& session, const std::string& version,
                        const std::vector<std::string>& keys);

/// `next`: the semantic versions after the highest in the store.
struct NextVersions {
  std::optional<core::SemVer> current;
  core::SemVer major, minor, patch;
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] NextVersions next_versions(const Session& session);

struct HistoryOptions {
  std::optional<std::string> stage;
  std::optional<std::string> version; ///< also a deleted version the log knows
  std::optional<std::string> at;      ///< UTC ISO-8601: who held each stage then
};
/// `history`: events newest first, or with `at` the holder of each stage at that time.
struct History {
  std::optional<std::string> at;
  std::vector<std::pair<std::string, std::optional<std::string>>> holders; ///< with `at`
  std::vector<nlohmann::json> events;                                      ///< without
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] History history(const Session& session, const HistoryOptions& options);

/// `lineage`: the chain of parents back to the root, with what changed at each step.
struct Lineage {
  struct Step {
    std::string name; ///< "NAME (deleted)" for a parent that is gone
    std::string description;
    std::optional<std::vector<std::string>> changes; ///< from its parent, when the parent is there
  };
  std::vector<Step> chain; ///< the version first
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] Lineage lineage(const Session& session, const std::string& version);

/// `diff A B`.
struct VersionComparison {
  std::string a, b;
  core::VersionDiff diff;
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] VersionComparison diff_versions(const Session& session, const std::string& a,
                                              const std::string& b);

} // namespace modelkeep::commands
