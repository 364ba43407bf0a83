#include "modelkeep/registry.hpp"

#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/refs.hpp"

namespace modelkeep {

Registry::Registry(const std::filesystem::path& root, const std::string& model) : m_store(root, model)
{
  m_store.require_exists();
}

StageTarget Registry::resolve_stage(const std::string& stage) const
{
  core::validate_stage_name(stage);
  const auto holder = core::stage_holder(m_store, stage);
  if (!holder) {
    throw Error(ExitCode::not_found, "stage " + stage + " points to no version");
  }
  const auto path = m_store.versions_dir() / *holder;
  return {stage, *holder, path, path / "adapter"};
}

AbRoute Registry::route(const std::string& test_id, const std::string& user) const
{
  return core::route_ab(m_store, test_id, user);
}

void Registry::record_ab(const std::string& test_id, Variant variant, const Observation& observation) const
{
  core::record_ab(m_store, test_id, variant, observation);
}

MonitorOutcome Registry::record_prediction(const Observation& observation, const std::string& stage) const
{
  core::RecordOptions options = m_options;
  options.cache = m_cache.get();
  return core::record_prediction(m_store, stage, observation, options);
}

} // namespace modelkeep
