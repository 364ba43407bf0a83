#pragma once

// The registry as a library, for serving processes: resolve what a stage serves, route A/B
// requests, and record predictions (which may roll a bad version back on their own) at the
// cost of a file append, not a process start. Link modelkeep_common and add common/ to the
// include path. Every call reads the store afresh, so the CLI and other processes can change
// it at any time; errors are modelkeep::Error with the CLI's exit code in code().

#include "core/layout/store.hpp"
#include "core/telemetry/ab.hpp"
#include "core/telemetry/monitor.hpp"
#include "util/error.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace modelkeep {

using core::AbRoute;
using core::MonitorOutcome;
using core::Observation;
using core::Variant;

/// What a stage serves now.
struct StageTarget {
  std::string stage;
  std::string version;           ///< the version directory name
  std::filesystem::path path;    ///< the version directory
  std::filesystem::path adapter; ///< its adapter directory, the files to load
};

class Registry {
public:
  /// Opens model `model` of the store at `root` (the default model, whose versions/ is directly
  /// under the root, if "" or "default"); Error(usage) for a bad name, Error(not_found) if the
  /// model has no versions.
  explicit Registry(const std::filesystem::path& root, const std::string& model = {});

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_store.root(); }
  [[nodiscard]] const std::string& model() const noexcept { return m_store.model(); }

  /// The version `stage` points to; Error(not_found) if it points to none.
  [[nodiscard]] StageTarget resolve_stage(const std::string& stage = "production") const;

  /// Routes one request of a running A/B test (`user` for sticky and canary routing).
  [[nodiscard]] AbRoute route(const std::string& test_id, const std::string& user = {}) const;

  /// Records one prediction of a variant of a running A/B test (the one route() chose).
  void record_ab(const std::string& test_id, Variant variant, const Observation& observation) const;

  /// Records one prediction against what `stage` serves now; the outcome says whether a
  /// trigger fired and the stage was rolled back (outcome.message() says it in words).
  MonitorOutcome record_prediction(const Observation& observation,
                                   const std::string& stage = "production") const;

  /// How long a call waits for a lock held by another process before Error(locked) (default 30 s).
  void set_lock_timeout(std::chrono::milliseconds timeout) { m_options.lock_timeout = timeout; }

private:
  core::Store m_store;
  core::RecordOptions m_options;
  std::unique_ptr<core::MonitorCache> m_cache = std::make_unique<core::MonitorCache>();
};

} // namespace modelkeep
