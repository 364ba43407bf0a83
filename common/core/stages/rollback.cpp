#include "core/stages/rollback.hpp"

#include "core/layout/store.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

std::optional<VersionDir> rollback_target(const Store& store, const std::string& stage)
{
  const auto previous = previous_holder(store, read_events(store), stage);
  if (!previous) {
    return std::nullopt;
  }
  return resolve_version(store, VersionRef::parse(*previous));
}

json roll_back(const Store& store, const std::string& stage, const VersionDir& target,
               const std::string& reason, const json& extra, bool show_progress)
{
  require_verified(target, "roll back to", show_progress);
  return move_stage(store, stage, target, EventKind::rollback, reason, extra);
}

json HookRun::to_json() const
{
  return {{"hook", hook}, {"ok", ok}, {"outcome", outcome}};
}

fs::path rollback_hooks_dir(const Store& store)
{
  return store.root() / "hooks" / "on-rollback.d";
}

namespace {

/// Why a hook (or its directory) must not be run, or empty if it may.
std::string unsafe_reason(const fs::path& path)
{
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "cannot stat";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "writable by group or others";
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return "owned by another user";
  }
  return {};
}

std::chrono::milliseconds hook_timeout()
{
  const char* text = std::getenv("MODELKEEP_HOOK_TIMEOUT");
  if (text != nullptr && *text != '\0') {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end != text && *end == '\0' && seconds > 0) {
      return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    }
  }
  return std::chrono::seconds(30);
}

std::string field(const json& event, const char* key)
{
  const auto it = event.find(key);
  if (it == event.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

} // namespace

std::vector<HookRun> run_rollback_hooks(const Store& store, const json& event)
{
  std::vector<HookRun> runs;
  const fs::path dir = rollback_hooks_dir(store);
  std::error_code ec;
  if (!util::is_directory(dir)) {
    return runs;
  }
  std::vector<fs::path> hooks;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name.back() == '~' || !it->is_regular_file()) {
      continue;
    }
    if (::access(it->path().c_str(), X_OK) == 0) {
      hooks.push_back(it->path());
    }
  }
  std::sort(hooks.begin(), hooks.end());
  const std::string dir_problem = unsafe_reason(dir);
  const auto timeout = hook_timeout();
  for (const auto& hook : hooks) {
    HookRun run;
    run.hook = hook.filename().string();
    const std::string problem = dir_problem.empty() ? unsafe_reason(hook) : "its directory is " + dir_problem;
    if (!problem.empty()) {
      run.outcome = "skipped: " + problem;
      util::log_warning("rollback hook " + hook.string() + " " + run.outcome);
      runs.push_back(run);
      continue;
    }
    util::ProcessSpec spec;
    spec.argv = {hook.string()};
    spec.set_env = {{"MODELKEEP_STAGE", field(event, "stage")},
                    {"MODELKEEP_FROM", field(event, "from")},
                    {"MODELKEEP_TO", field(event, "to")},
                    {"MODELKEEP_REASON", field(event, "reason")},
                    {"MODELKEEP_AUTOMATIC", event.value("automatic", false) ? "true" : "false"},
                    {"MODELKEEP_ROOT", store.root().string()},
                    {"MODELKEEP_MODEL", store.model()}};
    spec.stdin_text = event.dump() + '\n';
    spec.timeout = timeout;
    try {
      const auto result = util::run_process(spec);
      run.ok = result.ok();
      run.outcome = result.describe(timeout);
    } catch (const Error& e) {
      run.outcome = e.what();
    }
    if (!run.ok) {
      util::log_warning("rollback hook " + hook.string() + " failed (" + run.outcome +
                        "); the rollback stands");
    }
    runs.push_back(run);
  }
  return runs;
}

} // namespace modelkeep::core
