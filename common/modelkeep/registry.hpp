#pragma once

// modelkeep's public C++ API, for serving processes and tools that drive the registry in
// process: resolve what a stage serves, route A/B requests and record predictions (which may
// roll a bad version back on their own) at the cost of a file append, and run the
// model-versioner commands (list, show, promote, rollback, history, ...) getting the same JSON
// document their --json prints (each with "ok" and "schema_version"). Every call reads the store afresh, so the command-line tools
// and other processes can change it at any time; errors are modelkeep::Error with the tools'
// exit code in code(). Installed with `make install`: find_package(modelkeep) and link
// modelkeep::modelkeep, or pkg-config modelkeep.

#include "modelkeep/error.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace modelkeep {

/// What a stage serves now.
struct StageTarget {
  std::string stage;
  std::string version;           ///< the version directory name
  std::filesystem::path path;    ///< the version directory
  std::filesystem::path adapter; ///< its adapter directory, the files to load
};

/// The two arms of an A/B test.
enum class Variant { control, treatment };

/// Where one A/B request goes.
struct Route {
  Variant variant = Variant::control;
  std::string version;           ///< the version directory name
  std::filesystem::path adapter; ///< its adapter directory
};

/// One prediction as a serving process saw it.
struct Observation {
  std::optional<double> latency_ms;
  std::optional<double> confidence; ///< in [0, 1]
  std::optional<bool> correct;      ///< feedback, when the true answer is known
  bool error = false;               ///< the prediction failed
  std::string error_kind;           ///< "load", "signature" or "runtime" (only with error)
  std::optional<double> psi;        ///< input drift (population stability index) seen by the caller
};

/// What recording one prediction did.
struct MonitorOutcome {
  std::string stage;
  std::string version;        ///< the version the prediction was recorded against
  bool triggered = false;     ///< a trigger fired on this prediction
  bool rolled_back = false;   ///< and the stage was rolled back
  std::string rolled_back_to; ///< to this version
  /// "rolled back production: v004 -> v003 (error rate 0.12 > 0.05 ...)", the alert without a
  /// rollback, or "" when nothing fired.
  std::string message;
  nlohmann::json document; ///< everything, as `monitor record --json` prints it
};

class Registry {
public:
  /// Opens model `model` of the store at `root` (the default model, whose versions/ is directly
  /// under the root, if "" or "default"); Error(usage) for a bad name, Error(not_found) if the
  /// model has no versions.
  explicit Registry(const std::filesystem::path& root, const std::string& model = {});
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  [[nodiscard]] const std::filesystem::path& root() const noexcept;
  [[nodiscard]] const std::string& model() const noexcept;

  /// The version `stage` points to; Error(not_found) if it points to none.
  [[nodiscard]] StageTarget resolve_stage(const std::string& stage = "production") const;

  /// Routes one request of a running A/B test (`user` for sticky and canary routing).
  [[nodiscard]] Route route(const std::string& test_id, const std::string& user = {}) const;

  /// Records one prediction of a variant of a running A/B test (the one route() chose).
  void record_ab(const std::string& test_id, Variant variant, const Observation& observation) const;

  /// Records one prediction against what `stage` serves now; the outcome says whether a
  /// trigger fired and the stage was rolled back.
  MonitorOutcome record_prediction(const Observation& observation,
                                   const std::string& stage = "production") const;

  // The model-versioner commands, in process; each returns the document `--json` prints.

  /// `list`: every version, or a page of `limit` after the version named `cursor`.
  [[nodiscard]] nlohmann::json list(std::size_t limit = 0, const std::string& cursor = {}) const;
  /// `show VERSION`.
  [[nodiscard]] nlohmann::json show(const std::string& version) const;
  /// `promote VERSION --stage STAGE --reason REASON` (the version is verified first).
  nlohmann::json promote(const std::string& version, const std::string& stage = "production",
                         const std::string& reason = {}) const;
  /// `rollback --stage STAGE [--to VERSION] --reason REASON`.
  nlohmann::json rollback(const std::string& stage = "production", const std::string& to = {},
                          const std::string& reason = {}) const;
  /// `history [--stage STAGE]`, newest first.
  [[nodiscard]] nlohmann::json history(const std::string& stage = {}) const;
  /// `verify VERSION`: every checksum of the version recomputed ("ok": false with what is
  /// missing, modified or extra when it is damaged; a check a serving process can run before
  /// it loads a version).
  [[nodiscard]] nlohmann::json verify(const std::string& version) const;

  /// `backup-manager list`: the model's backups with their recorded verification.
  [[nodiscard]] nlohmann::json backups() const;

  /// `ab status TEST`.
  [[nodiscard]] nlohmann::json ab_status(const std::string& test_id) const;
  /// `monitor status --stage STAGE`.
  [[nodiscard]] nlohmann::json monitor_status(const std::string& stage = "production") const;

  /// How long a call waits for a lock held by another process before Error(locked) (default 30 s).
  void set_lock_timeout(std::chrono::milliseconds timeout);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace modelkeep
