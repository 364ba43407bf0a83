#include "modelkeep/registry.hpp"

#include "commands/ab.hpp"
#include "commands/backups.hpp"
#include "commands/integrity.hpp"
#include "commands/monitor.hpp"
#include "commands/stages.hpp"
#include "commands/versions.hpp"
#include "core/layout/names.hpp"
#include "core/layout/store.hpp"
#include "core/telemetry/ab.hpp"
#include "core/telemetry/monitor.hpp"
#include "core/versions/refs.hpp"

namespace modelkeep {

struct Registry::Impl {
  commands::Session session;
  core::MonitorCache cache; ///< predictions already parsed, per stage log

  Impl(const std::filesystem::path& root, const std::string& model)
      : session{core::Store(root, model), "modelkeep-api", std::chrono::milliseconds(30000), false, {}}
  {
  }
};

namespace {

core::Observation to_core(const Observation& o)
{
  core::Observation observation;
  observation.latency_ms = o.latency_ms;
  observation.confidence = o.confidence;
  observation.correct = o.correct;
  observation.error = o.error;
  observation.error_kind = o.error_kind;
  observation.psi = o.psi;
  observation.validate();
  return observation;
}

core::Variant to_core(Variant variant)
{
  return variant == Variant::control ? core::Variant::control : core::Variant::treatment;
}

} // namespace

Registry::Registry(const std::filesystem::path& root, const std::string& model)
    : m_impl(std::make_unique<Impl>(root, model))
{
  m_impl->session.store.require_exists();
}

Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;
Registry::~Registry() = default;

const std::filesystem::path& Registry::root() const noexcept
{
  return m_impl->session.store.root();
}

const std::string& Registry::model() const noexcept
{
  return m_impl->session.store.model();
}

void Registry::set_lock_timeout(std::chrono::milliseconds timeout)
{
  m_impl->session.lock_timeout = timeout;
}

StageTarget Registry::resolve_stage(const std::string& stage) const
{
  core::validate_stage_name(stage);
  const core::Store& store = m_impl->session.store;
  const auto holder = core::stage_holder(store, stage);
  if (!holder) {
    throw Error(ExitCode::not_found, "stage " + stage + " points to no version");
  }
  const auto path = store.versions_dir() / *holder;
  return {stage, *holder, path, path / "adapter"};
}

Route Registry::route(const std::string& test_id, const std::string& user) const
{
  const auto routed = commands::ab_route(m_impl->session, test_id, user);
  return {routed.route.variant == core::Variant::control ? Variant::control : Variant::treatment,
          routed.route.version, routed.route.adapter};
}

void Registry::record_ab(const std::string& test_id, Variant variant, const Observation& observation) const
{
  (void)commands::ab_record(m_impl->session, test_id, to_core(variant), to_core(observation));
}

MonitorOutcome Registry::record_prediction(const Observation& observation, const std::string& stage) const
{
  const auto outcome = commands::monitor_record(m_impl->session, stage, to_core(observation), &m_impl->cache);
  MonitorOutcome result;
  result.stage = outcome.stage;
  result.version = outcome.version;
  result.triggered = outcome.trigger.has_value();
  result.rolled_back = outcome.rolled_back;
  result.rolled_back_to = outcome.rolled_back_to;
  result.message = outcome.message();
  result.document = commands::document(outcome.to_json());
  return result;
}

nlohmann::json Registry::list(std::size_t limit, const std::string& cursor) const
{
  commands::ListOptions options;
  options.limit = limit;
  if (!cursor.empty()) {
    options.cursor = cursor;
  }
  return commands::document(commands::list_versions(m_impl->session, options).to_json());
}

nlohmann::json Registry::show(const std::string& version) const
{
  return commands::document(commands::show_version(m_impl->session, version).to_json());
}

nlohmann::json Registry::verify(const std::string& version) const
{
  return commands::document(commands::verify_versions({m_impl->session}, {{version}}).to_json());
}

nlohmann::json Registry::backups() const
{
  const auto listing = commands::list_backups(m_impl->session, std::nullopt);
  listing.require_readable();
  return commands::document(listing.to_json());
}

nlohmann::json Registry::promote(const std::string& version, const std::string& stage,
                                 const std::string& reason) const
{
  return commands::document(commands::promote(m_impl->session, {version, stage, reason}).to_json());
}

nlohmann::json Registry::rollback(const std::string& stage, const std::string& to,
                                  const std::string& reason) const
{
  commands::RollbackOptions options;
  options.stage = stage;
  if (!to.empty()) {
    options.to = to;
  }
  options.reason = reason;
  return commands::document(commands::rollback(m_impl->session, options).to_json());
}

nlohmann::json Registry::history(const std::string& stage) const
{
  commands::HistoryOptions options;
  if (!stage.empty()) {
    options.stage = stage;
  }
  return commands::document(commands::history(m_impl->session, options).to_json());
}

nlohmann::json Registry::ab_status(const std::string& test_id) const
{
  return commands::document(commands::to_json(commands::ab_status(m_impl->session, test_id)));
}

nlohmann::json Registry::monitor_status(const std::string& stage) const
{
  return commands::document(commands::monitor_status(m_impl->session, stage).to_json());
}

} // namespace modelkeep
