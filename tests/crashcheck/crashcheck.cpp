// crashcheck: every state a power cut may leave, for each workload, checked against the
// store's invariants (ALICE, CrashMonkey and SQLite's crash-test VFS are the models).
//
// Each workload runs in process with a RecordingEnv installed: every operation that changes
// the disk is recorded with its bytes. For every crash point k (after the first k operations
// of the trace) the states the persistence model allows are built from the tree before the
// workload, written to disk in the workload's place, and checked: the next writer's recovery
// runs (the store lock: temporaries removed, latest repaired), then the invariants.
//
// Persistence models (docs/DESIGN.md, "Power loss"):
//   barrier  everything before the last completed fsync is durable; any subset of what
//            follows it may be lost (issue 19's model)
//   posix    an operation is durable only once its own file (data, mode) or its directory
//            (names: create, rename, link, unlink, mkdir, rmdir) was fsynced afterwards;
//            anything else may be lost, in any combination
// In both, a lost-or-kept write may also be torn: each 4 KiB block of it kept or lost alone.
//
// Pending sets of up to 10 operations are enumerated completely; larger ones are sampled
// (none, all, each one lost alone, each prefix, and random subsets). States that are the same
// tree are checked once.

#include "trace.hpp"

#include "commands/ab.hpp"
#include "commands/backups.hpp"
#include "commands/integrity.hpp"
#include "commands/monitor.hpp"
#include "commands/offsite.hpp"
#include "commands/retention.hpp"
#include "commands/session.hpp"
#include "commands/stages.hpp"
#include "commands/versions.hpp"
#include "core/layout/events.hpp"
#include "core/versions/refs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#ifdef MODELKEEP_CRASHCHECK_CONSOLIDATE
#include "workflow.hpp"
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace modelkeep;
using crashcheck::Op;
using crashcheck::OpKind;
using crashcheck::Tree;
using nlohmann::json;

namespace {

// ---- the workspace a workload runs in ----

struct Workspace {
  fs::path dir;             ///< holds the store and the user's directories
  fs::path store = "models"; ///< the store root, relative to dir

  [[nodiscard]] fs::path root() const { return dir / store; }
  [[nodiscard]] fs::path adapter() const { return dir / "adapter"; }
  [[nodiscard]] commands::Session session() const
  {
    commands::Session session{core::Store(root()), "crashcheck", {}, false, {}};
    session.lock_timeout = std::chrono::milliseconds(2000);
    return session;
  }
};

/// A fact a finished step made true; checked in every state cut after the step, unless a
/// later step changed what it is about (the same key).
struct Fact {
  std::string key; ///< what it is about: "stage:production", "version:v001_..."
  std::string what;
  std::function<bool(const Workspace&)> holds;
};
using Facts = std::vector<Fact>;

struct Step {
  std::string what;
  std::function<Facts(const Workspace&)> run;
};

struct Workload {
  std::string name;
  std::function<void(const Workspace&)> setup;
  std::vector<Step> steps;
  std::vector<std::string> inputs{"adapter"}; ///< the user's directories: old or new, never a mix
  bool damaged_before = false;                ///< a version is damaged until the last step ends
  fs::path store = "models";                  ///< where the store is in the workspace
  /// What the next run does besides taking the lock (a consolidation resumes from its
  /// journal), and what must hold after it; empty: nothing more.
  std::function<void(const Workspace&, std::vector<std::string>&)> recover{};
};

void write_file(const fs::path& path, const std::string& content)
{
  util::create_directories(path.parent_path());
  util::remove_all(path);
  util::UniqueFd fd = util::create_exclusive(path, 0644);
  util::write_all(fd.get(), content, path);
  fd.close(path);
}

/// A small but real adapter: a config and a safetensors file of `floats` values (12 KiB by
/// default: three 4 KiB blocks to tear), its values depending on `variant`.
void write_adapter(const fs::path& dir, int variant, std::size_t floats = 3000)
{
  write_file(dir / "adapter_config.json",
             json{{"base_model_name_or_path", "base"}, {"r", 4}, {"lora_alpha", 8},
                  {"target_modules", {"q_proj"}}, {"peft_type", "LORA"}}
                 .dump());
  const json header = {{"base.q_proj.lora_A.weight",
                        {{"dtype", "F32"}, {"shape", {floats}}, {"data_offsets", {0, floats * 4}}}}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += text;
  std::mt19937 rng(static_cast<unsigned>(variant) * 7919U + 1);
  for (std::size_t i = 0; i < floats; ++i) {
    const float value = static_cast<float>(rng() % 1000) / 1000.0f;
    bytes.append(reinterpret_cast<const char*>(&value), 4);
  }
  write_file(dir / "adapter_model.safetensors", bytes);
  write_file(dir / "README.md", "variant " + std::to_string(variant) + "\n");
}

std::string create_from(const Workspace& ws, const fs::path& adapter, const std::string& description)
{
  core::CreateRequest request;
  request.adapter = adapter;
  request.description = description;
  return commands::create_version(ws.session(), request, "crashcheck").meta.name;
}

std::string create(const Workspace& ws, int variant, std::map<std::string, double> metrics = {})
{
  write_adapter(ws.adapter(), variant);
  core::CreateRequest request;
  request.adapter = ws.adapter();
  request.description = "variant " + std::to_string(variant);
  request.metrics = std::move(metrics);
  return commands::create_version(ws.session(), request, "crashcheck").meta.name;
}

std::vector<std::string> listed_versions(const Workspace& ws)
{
  std::vector<std::string> names;
  for (const auto& row : commands::list_versions(ws.session(), {}).rows) {
    names.push_back(row.version.name);
  }
  return names;
}

bool has_version(const Workspace& ws, const std::string& name)
{
  const auto names = listed_versions(ws);
  return std::find(names.begin(), names.end(), name) != names.end();
}

Fact version_exists(const std::string& name)
{
  return {"version:" + name, "version " + name + " exists", [name](const Workspace& ws) { return has_version(ws, name); }};
}

Fact version_gone(const std::string& name)
{
  return {"version:" + name, "version " + name + " is deleted", [name](const Workspace& ws) { return !has_version(ws, name); }};
}

Fact stage_is(const std::string& stage, const std::string& name)
{
  return {"stage:" + stage, stage + " is " + name, [=](const Workspace& ws) {
            return core::stage_holder(core::Store(ws.root()), stage) == std::optional<std::string>(name);
          }};
}

Fact backup_exists(const std::string& type, const std::string& name)
{
  return {"backup:" + type + "/" + name, "backup " + type + "/" + name + " exists", [=](const Workspace& ws) {
            for (const auto& entry : commands::list_backups(ws.session(), std::nullopt).entries) {
              if (entry.type == type && entry.name == name) {
                return true;
              }
            }
            return false;
          }};
}

std::string backup(const Workspace& ws, const std::string& format, const std::string& type = "manual")
{
  commands::BackupOptions options;
  options.source = ws.adapter().string();
  options.type = type;
  options.format = format;
  options.reason = "crashcheck";
  return commands::make_backup(ws.session(), options).info.name;
}

Step backup_step(const std::string& format)
{
  return {"backup --format " + format, [format](const Workspace& ws) {
            return Facts{backup_exists("manual", backup(ws, format))};
          }};
}

#ifdef MODELKEEP_CRASHCHECK_CONSOLIDATE
consolidate::ConsolidateRequest consolidation_request(const Workspace& ws)
{
  consolidate::ConsolidateRequest request;
  request.base_dir = ws.dir / "train";
  request.description = "crashcheck";
  request.lock_timeout_seconds = 2;
  request.tool_version = "crashcheck";
  return request;
}

/// The whole consolidation (backup, version, merge, modelkeep.json, adapter deleted) cut at
/// every point; the next run resumes it from its journal and must complete it, and the
/// adapter may only be gone once its verified backup, its version and the checked merged
/// model exist.
Workload consolidation_workload()
{
  Workload w;
  w.name = "consolidation (every step)";
  w.store = "train/models";
  w.inputs = {"train/current_model", "train/base_model", "train/modelkeep.json"};
  w.setup = [](const Workspace& ws) {
    fs::copy(fs::path(MODELKEEP_SOURCE_DIR) / "models.example", ws.dir / "train", fs::copy_options::recursive);
  };
  w.steps = {{"consolidate", [](const Workspace& ws) {
                (void)consolidate::run_consolidation(consolidation_request(ws), [](const std::string&) {});
                return Facts{};
              }}};
  w.recover = [](const Workspace& ws, std::vector<std::string>& violations) {
    const fs::path train = ws.dir / "train";
    const bool journal = util::exists(train / ".modelkeep-consolidation.json");
    if (!util::exists(train / "current_model") && !journal) {
      // Finished: everything the deletion waited for must be there.
      const json config = json::parse(util::read_file(train / "modelkeep.json"));
      const fs::path merged = train / config.value("base_model", "");
      if (!util::is_regular_file(merged / "consolidation.json")) {
        violations.push_back("I7: the adapter is gone but modelkeep.json's base_model " + merged.string() +
                             " is not a consolidated model");
      }
      return;
    }
    try {
      (void)consolidate::run_consolidation(consolidation_request(ws), [](const std::string&) {});
    } catch (const std::exception& e) {
      violations.push_back(std::string("I7: the consolidation does not complete when run again") +
                           (journal ? " (from its journal)" : "") + ": " + e.what());
      return;
    }
    if (util::exists(train / "current_model") || util::exists(train / ".modelkeep-consolidation.json")) {
      violations.push_back("I7: the consolidation run again did not finish");
    }
  };
  return w;
}
#endif

/// `create` of the workspace's adapter/.
Step create_step()
{
  return {"create", [](const Workspace& ws) {
            return Facts{version_exists(create_from(ws, ws.adapter(), "crashcheck"))};
          }};
}

std::vector<Workload> workloads()
{
  std::vector<Workload> all;
  all.push_back({"create (new store)", [](const Workspace& ws) { write_adapter(ws.adapter(), 1); },
                 {create_step()}});
  all.push_back({"create (incremental, shared objects)",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   write_adapter(ws.adapter(), 1);
                   write_file(ws.adapter() / "README.md", "changed\n");
                 },
                 {create_step()}});
  all.push_back({"restore",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                 },
                 {{"restore v1", [](const Workspace& ws) {
                     commands::RestoreOptions options;
                     options.version = listed_versions(ws).front();
                     options.to = ws.adapter().string();
                     (void)commands::restore_version(ws.session(), options);
                     return Facts{};
                   }}}});
  all.push_back({"delete",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                 },
                 {{"delete v1", [](const Workspace& ws) {
                     commands::DeleteOptions options;
                     options.version = listed_versions(ws).front();
                     options.confirm = true;
                     (void)commands::delete_version(ws.session(), options);
                     return Facts{version_gone(options.version)};
                   }}}});
  all.push_back({"gc",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                   (void)create(ws, 3);
                 },
                 {{"gc --keep 1 --execute", [](const Workspace& ws) {
                     commands::GcOptions options;
                     options.keep = 1;
                     options.execute = true;
                     const auto result = commands::collect_versions(ws.session(), options);
                     Facts facts;
                     for (const auto& verdict : result.verdicts) {
                       facts.push_back(verdict.keep ? version_exists(verdict.version.name)
                                                    : version_gone(verdict.version.name));
                     }
                     return facts;
                   }}}});
  auto promote_step = [](std::size_t which, const std::string& stage) {
    return Step{"promote v" + std::to_string(which + 1) + " to " + stage, [=](const Workspace& ws) {
                  commands::PromoteOptions options;
                  options.version = listed_versions(ws).at(which);
                  options.stage = stage;
                  (void)commands::promote(ws.session(), options);
                  return Facts{stage_is(stage, options.version)};
                }};
  };
  all.push_back({"promote",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                 },
                 {promote_step(0, "production"), promote_step(1, "production"), promote_step(1, "staging")}});
  all.push_back({"rollback",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                   commands::PromoteOptions options;
                   options.version = listed_versions(ws).at(0);
                   (void)commands::promote(ws.session(), options);
                   options.version = listed_versions(ws).at(1);
                   (void)commands::promote(ws.session(), options);
                 },
                 {{"rollback", [](const Workspace& ws) {
                     const auto done = commands::rollback(ws.session(), {});
                     return Facts{stage_is("production", done.to)};
                   }}}});
  all.push_back({"auto-promote",
                 [](const Workspace& ws) {
                   (void)create(ws, 1, {{"f1", 0.80}});
                   commands::PromoteOptions options;
                   options.version = listed_versions(ws).at(0);
                   (void)commands::promote(ws.session(), options);
                   (void)create(ws, 2, {{"f1", 0.90}});
                 },
                 {{"auto-promote v2", [](const Workspace& ws) {
                     commands::AutoPromoteOptions options;
                     options.version = listed_versions(ws).at(1);
                     options.metric = "f1";
                     const auto done = commands::auto_promote(ws.session(), options);
                     return done.promoted ? Facts{stage_is("production", options.version)} : Facts{};
                   }}}});
  for (const std::string format : {"dir", "tar", "tar.zst"}) {
    all.push_back({"backup " + format, [](const Workspace& ws) { write_adapter(ws.adapter(), 1); },
                   {backup_step(format)}});
  }
  all.push_back({"backup restore",
                 [](const Workspace& ws) {
                   write_adapter(ws.adapter(), 1);
                   (void)backup(ws, "dir");
                   write_adapter(ws.adapter(), 2);
                 },
                 {{"backup restore", [](const Workspace& ws) {
                     commands::BackupRestoreOptions options;
                     options.backup = commands::list_backups(ws.session(), std::nullopt).entries.at(0).name;
                     options.dest = ws.adapter().string();
                     (void)commands::restore_backup(ws.session(), options);
                     return Facts{};
                   }}}});
  all.push_back({"cleanup",
                 [](const Workspace& ws) {
                   for (int variant = 1; variant <= 3; ++variant) {
                     write_adapter(ws.adapter(), variant);
                     (void)backup(ws, "dir", "daily");
                   }
                 },
                 {{"cleanup --keep-last 1 --execute", [](const Workspace& ws) {
                     commands::CleanupOptions options;
                     options.policy.keep_last = 1;
                     options.execute = true;
                     (void)commands::cleanup_backups({ws.session()}, options);
                     return Facts{};
                   }}}});
  all.push_back({"A/B conclude with promotion",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                   const auto names = listed_versions(ws);
                   commands::AbCreateOptions options;
                   options.id = "t1";
                   options.control = names.at(0);
                   options.treatment = names.at(1);
                   (void)commands::ab_create(ws.session(), options);
                   (void)commands::ab_start(ws.session(), "t1");
                   for (int i = 0; i < 120; ++i) {
                     core::Observation seen;
                     seen.correct = i % 4 == 0;
                     (void)commands::ab_record(ws.session(), "t1", core::Variant::control, seen);
                     seen.correct = i % 8 != 0;
                     (void)commands::ab_record(ws.session(), "t1", core::Variant::treatment, seen);
                   }
                 },
                 {{"ab conclude --promote-winner", [](const Workspace& ws) {
                     commands::AbConcludeOptions options;
                     options.id = "t1";
                     options.promote_winner = true;
                     const auto done = commands::ab_conclude(ws.session(), options);
                     return done.promotion.is_null() ? Facts{}
                                                      : Facts{stage_is("production", done.test.treatment)};
                   }}}});
  auto record_error = [](const std::string& what) {
    return Step{what, [](const Workspace& ws) {
                  core::Observation seen;
                  seen.error = true;
                  seen.error_kind = "runtime";
                  const auto outcome = commands::monitor_record(ws.session(), "production", seen);
                  return outcome.rolled_back ? Facts{stage_is("production", outcome.rolled_back_to)} : Facts{};
                }};
  };
  all.push_back({"automatic rollback",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)create(ws, 2);
                   commands::PromoteOptions promote;
                   promote.version = listed_versions(ws).at(0);
                   (void)commands::promote(ws.session(), promote);
                   promote.version = listed_versions(ws).at(1);
                   (void)commands::promote(ws.session(), promote);
                   commands::ThresholdOptions options;
                   options.max_error_rate = 0.2;
                   options.window = 4;
                   options.consecutive_failures = 2;
                   options.auto_rollback = true;
                   (void)commands::monitor_thresholds(ws.session(), options);
                 },
                 {record_error("monitor record (error)"), record_error("monitor record (error, rolls back)"),
                  record_error("monitor record (after the rollback)")}});
  all.push_back({"create (many files, two models)",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   for (int i = 0; i < 6; ++i) {
                     write_file(ws.adapter() / "checkpoints" / ("part" + std::to_string(i) + ".bin"),
                                std::string(static_cast<std::size_t>(5000 + 1000 * i), static_cast<char>('a' + i)));
                   }
                 },
                 {{"create", [](const Workspace& ws) {
                     core::CreateRequest request;
                     request.adapter = ws.adapter();
                     request.description = "more files";
                     return Facts{version_exists(commands::create_version(ws.session(), request, "crashcheck").meta.name)};
                   }},
                  {"create --model second", [](const Workspace& ws) {
                     core::CreateRequest request;
                     request.adapter = ws.adapter();
                     request.description = "second model";
                     commands::Session session = ws.session();
                     session.store = core::Store(ws.root(), "second");
                     (void)commands::create_version(session, request, "crashcheck");
                     return Facts{};
                   }}}});
  all.push_back({"a day's work (create, promote, backup, restore, delete, gc)",
                 [](const Workspace& ws) {
                   write_adapter(ws.adapter(), 1);
                   write_adapter(ws.dir / "second", 2);
                   write_adapter(ws.dir / "third", 3);
                 },
                 {{"create v1", [](const Workspace& ws) { return Facts{version_exists(create_from(ws, ws.adapter(), "v1"))}; }},
                  {"create v2", [](const Workspace& ws) { return Facts{version_exists(create_from(ws, ws.dir / "second", "v2"))}; }},
                  promote_step(1, "production"),
                  backup_step("tar.zst"),
                  {"create v3", [](const Workspace& ws) { return Facts{version_exists(create_from(ws, ws.dir / "third", "v3"))}; }},
                  {"restore v2 into adapter/", [](const Workspace& ws) {
                     commands::RestoreOptions options;
                     options.version = listed_versions(ws).at(1);
                     options.to = ws.adapter().string();
                     (void)commands::restore_version(ws.session(), options);
                     return Facts{};
                   }},
                  {"delete v1", [](const Workspace& ws) {
                     commands::DeleteOptions options;
                     options.version = listed_versions(ws).front();
                     options.confirm = true;
                     (void)commands::delete_version(ws.session(), options);
                     return Facts{version_gone(options.version)};
                   }},
                  {"gc --keep 1 --execute", [](const Workspace& ws) {
                     commands::GcOptions options;
                     options.keep = 1;
                     options.execute = true;
                     (void)commands::collect_versions(ws.session(), options);
                     return Facts{};
                   }}},
                 {"adapter", "second", "third"}});
  if (const char* restic = std::getenv("CRASHCHECK_RESTIC_REPOSITORY")) {
    // An offsite push: restic's own writes go to a repository outside the workspace (the
    // remote side, not rolled back by the cut); what is traced is the push record.
    all.push_back({"offsite push record",
                   [](const Workspace& ws) {
                     write_adapter(ws.adapter(), 1);
                     (void)backup(ws, "dir");
                   },
                   {{"push --all", [restic = std::string(restic)](const Workspace& ws) {
                       commands::PushOptions options;
                       options.all = true;
                       options.repo = restic;
                       commands::push_backups({ws.session()}, options).require_ok();
                       return Facts{};
                     }}}});
  }
#ifdef MODELKEEP_CRASHCHECK_CONSOLIDATE
  all.push_back(consolidation_workload());
#endif
  all.push_back({"repair",
                 [](const Workspace& ws) {
                   (void)create(ws, 1);
                   (void)backup(ws, "dir");
                   // The version's copy of the weights is damaged (the object and the version's
                   // hard link are one file); the backup holds an intact copy.
                   const auto version = core::Store(ws.root()).version_path(listed_versions(ws).at(0));
                   const fs::path file = version / "adapter" / "adapter_model.safetensors";
                   util::make_dirs_writable(version);
                   ::chmod(file.c_str(), 0644);
                   std::string bytes = util::read_file(file);
                   bytes[100] = static_cast<char>(bytes[100] ^ 1);
                   util::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
                   util::write_all(fd.get(), bytes, file);
                 },
                 {{"repair", [](const Workspace& ws) {
                     (void)commands::repair_versions(ws.session(), {});
                     return Facts{};
                   }}},
                 {"adapter"},
                 true});
  return all;
}

// ---- recording ----

struct Recording {
  Tree start;
  std::vector<Op> trace;
  std::vector<std::size_t> step_end;              ///< trace length when each step returned
  std::vector<Facts> facts;                       ///< what each step made true
  std::vector<std::map<std::string, std::string>> inputs; ///< input fingerprints at each boundary
  /// For inputs that are files (replaced whole, perhaps more than once in a step): every
  /// content each step gave them at any instant.
  std::vector<std::map<std::string, std::set<std::string>>> instants;
  std::vector<std::string> untraced;
};

std::vector<std::string> split_path(const std::string& path)
{
  std::vector<std::string> parts;
  for (const auto& part : fs::path(path)) {
    parts.push_back(part.string());
  }
  return parts;
}

std::map<std::string, std::string> input_prints(const Tree& tree, const Workload& workload)
{
  std::map<std::string, std::string> prints;
  for (const auto& input : workload.inputs) {
    prints[input] = tree.fingerprint(tree.resolve(split_path(input), false));
  }
  return prints;
}

bool s_inject_missing_fsync = false; ///< --inject missing-dir-fsync

Recording record(const Workload& workload, const Workspace& ws)
{
  util::remove_all(ws.dir);
  util::create_directories(ws.dir);
  workload.setup(ws);
  ::sync();
  crashcheck::RecordingEnv recorder(ws.dir);
  recorder.forget_directory_fsyncs = s_inject_missing_fsync;
  Recording rec;
  rec.inputs.push_back(input_prints(recorder.now(), workload));
  {
    const util::ScopedEnv installed(recorder);
    for (const auto& step : workload.steps) {
      rec.facts.push_back(step.run(ws));
      rec.step_end.push_back(recorder.trace().size());
      rec.inputs.push_back(input_prints(recorder.now(), workload));
    }
  }
  rec.start = recorder.start();
  rec.trace = recorder.trace();
  rec.untraced = recorder.untraced();
  // Replayed once in full: the contents each file input had after every operation.
  rec.instants.resize(workload.steps.size());
  Tree tree = rec.start;
  std::size_t step = 0;
  for (std::size_t i = 0; i < rec.trace.size(); ++i) {
    tree.apply(rec.trace[i]);
    while (step + 1 < rec.step_end.size() && i >= rec.step_end[step]) {
      ++step;
    }
    for (const auto& input : workload.inputs) {
      const int node = tree.resolve(split_path(input), false);
      if (node < 0 || tree.nodes[node].kind == crashcheck::NodeKind::file) {
        rec.instants[step][input].insert(tree.fingerprint(node));
      }
    }
  }
  return rec;
}

// ---- the states of one crash point ----

enum class Model { barrier, posix };

struct State {
  std::vector<bool> keep;                      ///< per pending operation
  std::map<std::size_t, std::vector<bool>> torn; ///< write index -> which 4 KiB blocks persist
};

constexpr std::size_t k_block = 4096;

/// For each operation, the index of the operation that makes it durable (the trace's length
/// if none does).
std::vector<std::size_t> durable_at(const std::vector<Op>& trace, Model model)
{
  const std::size_t n = trace.size();
  std::vector<std::size_t> at(n, n);
  if (model == Model::barrier) {
    std::size_t next = n;
    for (std::size_t i = n; i-- > 0;) {
      at[i] = next;
      if (trace[i].kind == OpKind::fsync) {
        next = i;
      }
    }
    return at;
  }
  std::map<int, std::size_t> next_sync; // node -> the next fsync of it
  for (std::size_t i = n; i-- > 0;) {
    const auto it = next_sync.find(trace[i].durable_with());
    at[i] = it == next_sync.end() ? n : it->second;
    if (trace[i].kind == OpKind::fsync) {
      next_sync[trace[i].node] = i;
    }
  }
  return at;
}

Tree build(const Recording& rec, std::size_t cut, const std::vector<std::size_t>& durable, const State& state)
{
  Tree tree = rec.start;
  std::size_t p = 0;
  for (std::size_t i = 0; i < cut; ++i) {
    const Op& op = rec.trace[i];
    if (op.kind == OpKind::fsync) {
      continue;
    }
    bool apply = durable[i] < cut;
    if (!apply) {
      apply = state.keep[p++];
    }
    if (!apply) {
      continue;
    }
    const auto torn = state.torn.find(i);
    if (torn == state.torn.end()) {
      tree.apply(op);
      continue;
    }
    for (std::size_t b = 0; b * k_block < op.data.size(); ++b) {
      if (torn->second[b]) {
        Op part = op;
        part.offset = op.offset + b * k_block;
        part.data = op.data.substr(b * k_block, k_block);
        tree.apply(part);
      }
    }
  }
  return tree;
}

std::vector<State> states_of(const Recording& rec, const std::vector<std::size_t>& pending, std::mt19937& rng)
{
  const std::size_t n = pending.size();
  std::vector<State> states;
  auto with = [&](std::vector<bool> keep) { states.push_back({std::move(keep), {}}); };
  if (n <= 10) {
    for (std::uint32_t mask = 0; mask < (1U << n); ++mask) {
      std::vector<bool> keep(n);
      for (std::size_t i = 0; i < n; ++i) {
        keep[i] = ((mask >> i) & 1U) != 0;
      }
      with(keep);
    }
  } else {
    for (std::size_t prefix = 0; prefix <= n; ++prefix) { // in order, as a journal would
      std::vector<bool> keep(n, false);
      std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(prefix), true);
      with(keep);
    }
    for (std::size_t lost = 0; lost < n; ++lost) {
      std::vector<bool> keep(n, true);
      keep[lost] = false;
      with(keep);
    }
    for (int r = 0; r < 64; ++r) {
      std::vector<bool> keep(n);
      for (std::size_t i = 0; i < n; ++i) {
        keep[i] = (rng() & 1U) != 0;
      }
      with(keep);
    }
  }
  // Torn writes: every pending write of more than one block kept in part, twice, with the
  // other pending operations all kept and all lost.
  for (int round = 0; round < 4; ++round) {
    State state{std::vector<bool>(n, round % 2 == 0), {}};
    for (std::size_t p = 0; p < n; ++p) {
      const Op& op = rec.trace[pending[p]];
      if (op.kind == OpKind::write && op.data.size() > k_block) {
        std::vector<bool> blocks((op.data.size() + k_block - 1) / k_block);
        for (std::size_t b = 0; b < blocks.size(); ++b) {
          blocks[b] = (rng() & 1U) != 0;
        }
        state.keep[p] = true;
        state.torn[pending[p]] = std::move(blocks);
      }
    }
    if (!state.torn.empty()) {
      states.push_back(std::move(state));
    }
  }
  return states;
}

// ---- the invariants ----

void check_model(const Workload& workload, std::size_t done, const Workspace& ws,
                 const commands::Session& session, std::vector<std::string>& violations);
void check_facts(const Workload& workload, const Recording& rec, std::size_t done, const Workspace& ws,
                 std::vector<std::string>& violations);

std::vector<std::string> check_state(const Workload& workload, const Recording& rec, const Tree& tree,
                                     std::size_t cut, const Workspace& ws)
{
  std::vector<std::string> violations;
  std::size_t done = 0;
  while (done < rec.step_end.size() && rec.step_end[done] <= cut) {
    ++done;
  }
  // The user's directories: the content before the step in flight or after it, never a mix.
  for (const auto& input : workload.inputs) {
    const std::string print = tree.fingerprint(tree.resolve(split_path(input), false));
    const bool before = rec.inputs[done].at(input) == print;
    const bool after = done + 1 < rec.inputs.size() && rec.inputs[done + 1].at(input) == print;
    const bool meanwhile = done < rec.instants.size() && rec.instants[done].count(input) != 0 &&
                           rec.instants[done].at(input).count(print) != 0;
    if (!before && !after && !meanwhile) {
      violations.push_back("I5: " + input + " holds neither its old nor its new content");
    }
  }
  util::remove_all(ws.dir);
  tree.materialize(ws.dir);
  if (!core::Store(ws.root()).exists()) {
    if (done > 0) {
      violations.push_back("I6: the store is gone after " + workload.steps[0].what + " finished");
    }
    return violations;
  }
  std::set<std::string> models{std::string(core::k_default_model)};
  for (const auto& model : core::discover_models(ws.root())) {
    models.insert(model);
  }
  for (const auto& model : models) {
    commands::Session session = ws.session();
    session.store = core::Store(ws.root(), model);
    if (session.store.exists()) {
      check_model(workload, done, ws, session, violations);
    }
  }
  check_facts(workload, rec, done, ws, violations);
  return violations;
}

void check_model(const Workload& workload, std::size_t done, const Workspace& ws,
                 const commands::Session& session, std::vector<std::string>& violations)
{
  auto guard = [&](const std::string& what, const std::function<void()>& body) {
    try {
      body();
    } catch (const std::exception& e) {
      violations.push_back(what + ": " + e.what());
    }
  };
  guard("recovery (the next writer's lock) failed", [&] { (void)session.lock("crashcheck"); });
  if (workload.recover && session.store.is_default_model()) {
    workload.recover(ws, violations);
  }
  const bool damage_expected = workload.damaged_before && done < workload.steps.size();
  guard("I1: verify failed", [&] {
    try {
      const auto verified = commands::verify_versions({session}, {});
      if (!damage_expected) {
        for (const auto& item : verified.checks) {
          if (!item.check.ok()) {
            violations.push_back("I1: version " + item.check.version.name + " does not verify");
          }
        }
      }
      for (const auto& problem : verified.latest_problems) {
        violations.push_back("I2: " + problem);
      }
    } catch (const Error& e) {
      if (e.code() != ExitCode::not_found) {
        throw;
      }
    }
  });
  guard("I2: stages", [&] {
    const core::Store& store = session.store;
    const auto stages = core::list_stages(store);
    for (const auto& [stage, holder] : stages) {
      if (!util::is_regular_file(store.version_path(holder) / "metadata.json")) {
        violations.push_back("I2: stage " + stage + " points to " + holder + ", which is not a version");
      }
    }
    // The events log and the stage links agree: the last move of each stage names its holder.
    std::map<std::string, std::string> logged;
    for (const auto& event : core::read_events(store)) {
      if ((core::is_event(event, core::EventKind::promote) || core::is_event(event, core::EventKind::rollback)) &&
          event.contains("stage") && event.contains("to")) {
        logged[event["stage"].get<std::string>()] = event["to"].get<std::string>();
      }
    }
    for (const auto& [stage, holder] : stages) {
      const auto it = logged.find(stage);
      if (it == logged.end() || it->second != holder) {
        violations.push_back("I3: stage " + stage + " points to " + holder + " but the events log says " +
                             (it == logged.end() ? std::string("it never moved") : it->second));
      }
    }
  });
  guard("I4: backups", [&] {
    const auto listing = commands::list_backups(session, std::nullopt);
    listing.require_readable();
    if (listing.entries.empty()) {
      return;
    }
    commands::BackupVerifyOptions options;
    options.all = true;
    for (const auto& item : commands::verify_backups({session}, options).items) {
      if (!item.ok()) {
        violations.push_back("I4: backup " + item.info.type + "/" + item.info.name + " does not verify");
      }
    }
  });
}

void check_facts(const Workload& workload, const Recording& rec, std::size_t done, const Workspace& ws,
                 std::vector<std::string>& violations)
{
  auto guard = [&](const std::string& what, const std::function<void()>& body) {
    try {
      body();
    } catch (const std::exception& e) {
      violations.push_back(what + ": " + e.what());
    }
  };
  // What finished steps made true still holds, or is what the step in flight makes of it.
  std::map<std::string, std::pair<std::size_t, const Fact*>> facts;
  for (std::size_t s = 0; s < done; ++s) {
    for (const auto& fact : rec.facts[s]) {
      facts[fact.key] = {s, &fact};
    }
  }
  for (const auto& [key, fact] : facts) {
    guard("I6: " + fact.second->what, [&, key = key, fact = fact] {
      if (fact.second->holds(ws)) {
        return;
      }
      if (done < rec.facts.size()) {
        for (const auto& next : rec.facts[done]) {
          if (next.key == key && next.holds(ws)) {
            return;
          }
        }
      }
      violations.push_back("I6: " + workload.steps[fact.first].what + " finished, but no longer: " +
                           fact.second->what);
    });
  }
}

std::string describe(const Op& op)
{
  std::string text = op_name(op.kind);
  if (!op.path.empty()) {
    text += ' ' + op.path;
  }
  if (op.kind == OpKind::write) {
    text += ' ' + std::to_string(op.data.size()) + " bytes at " + std::to_string(op.offset);
  }
  return text;
}

struct Totals {
  std::size_t states = 0;
  std::size_t violations = 0;
};

Totals run(const Workload& workload, const fs::path& scratch, Model model, std::size_t budget, unsigned seed,
           bool verbose)
{
  const Workspace ws{scratch / "ws", workload.store};
  const auto started = std::chrono::steady_clock::now();
  const Recording rec = record(workload, ws);
  Totals totals;
  if (!rec.untraced.empty()) {
    for (const auto& what : rec.untraced) {
      std::cout << "  UNTRACED " << workload.name << ": " << what << '\n';
    }
    totals.violations += rec.untraced.size();
  }
  const auto durable = durable_at(rec.trace, model);
  std::mt19937 rng(seed);
  std::set<std::string> seen;
  std::map<std::string, std::size_t> kinds; // violation text -> count
  std::map<std::string, std::string> first; // violation text -> where first seen
  const std::size_t n = rec.trace.size();
  // Every crash point, in an order that spreads a limited budget over the whole trace.
  std::vector<std::size_t> cuts(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    cuts[i] = i;
  }
  std::shuffle(cuts.begin() + 1, cuts.end(), rng);
  for (const std::size_t cut : cuts) {
    if (totals.states >= budget) {
      break;
    }
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < cut; ++i) {
      if (rec.trace[i].kind != OpKind::fsync && durable[i] >= cut) {
        pending.push_back(i);
      }
    }
    for (const auto& state : states_of(rec, pending, rng)) {
      if (totals.states >= budget) {
        break;
      }
      const Tree tree = build(rec, cut, durable, state);
      std::size_t done = 0;
      while (done < rec.step_end.size() && rec.step_end[done] <= cut) {
        ++done;
      }
      // The same tree is checked again when more steps have reported success by then.
      if (!seen.insert(tree.fingerprint() + std::to_string(done)).second) {
        continue;
      }
      ++totals.states;
      for (const auto& violation : check_state(workload, rec, tree, cut, ws)) {
        ++totals.violations;
        if (kinds[violation]++ == 0) {
          std::string lost;
          for (std::size_t p = 0; p < pending.size(); ++p) {
            if (!state.keep[p]) {
              lost += (lost.empty() ? "" : ", ") + describe(rec.trace[pending[p]]);
            }
          }
          first[violation] = "cut after operation " + std::to_string(cut) + " of " + std::to_string(n) +
                             (cut > 0 ? " (" + describe(rec.trace[cut - 1]) + ")" : std::string()) +
                             (lost.empty() ? "" : "; lost: " + lost) + (state.torn.empty() ? "" : "; torn writes");
        }
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("  %-40s %5zu operations %6zu states %4zu violations %6.1f s\n", workload.name.c_str(), n,
              totals.states, totals.violations, seconds);
  for (const auto& [violation, count] : kinds) {
    std::printf("    VIOLATION (%zu states) %s\n      first: %s\n", count, violation.c_str(), first[violation].c_str());
  }
  if (verbose) {
    for (std::size_t i = 0; i < n; ++i) {
      std::printf("    %4zu %s%s\n", i, describe(rec.trace[i]).c_str(),
                  durable[i] < n ? "" : "  (never made durable)");
    }
  }
  util::remove_all(ws.dir);
  return totals;
}

} // namespace

int main(int argc, char** argv)
{
  Model model = Model::barrier;
  std::size_t budget = 5000;
  unsigned seed = 1;
  bool verbose = false;
  std::string only;
  fs::path scratch;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "crashcheck: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--model") {
      const std::string name = value();
      model = name == "posix" ? Model::posix : Model::barrier;
    } else if (arg == "--budget") {
      budget = std::stoul(value());
    } else if (arg == "--seed") {
      seed = static_cast<unsigned>(std::stoul(value()));
    } else if (arg == "--only") {
      only = value();
    } else if (arg == "--scratch") {
      scratch = value();
    } else if (arg == "--inject") {
      if (value() != "missing-dir-fsync") {
        std::fprintf(stderr, "crashcheck: the only planted fault is missing-dir-fsync\n");
        return 2;
      }
      s_inject_missing_fsync = true;
    } else if (arg == "--trace") {
      verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: crashcheck [--model barrier|posix] [--budget STATES_PER_WORKLOAD] [--seed N] "
                   "[--only NAME] [--scratch DIR] [--trace] [--inject missing-dir-fsync]\n");
      return 2;
    }
  }
  if (scratch.empty()) {
    scratch = fs::temp_directory_path() / ("crashcheck-" + std::to_string(::getpid()));
  }
  util::create_directories(scratch);
  ::setenv("MODELKEEP_THREADS", "1", 1); // one writer thread: the trace's order is the program's
  // The offsite workload needs a restic repository: one outside the workspace, made here.
  const fs::path repo = scratch / "restic-repository";
  write_file(scratch / "restic-password", "crashcheck\n");
  ::setenv("RESTIC_PASSWORD_FILE", (scratch / "restic-password").c_str(), 1);
  const std::string init = "restic init -q --repo '" + repo.string() + "' >/dev/null 2>&1";
  if (std::system(init.c_str()) == 0) {
    ::setenv("CRASHCHECK_RESTIC_REPOSITORY", repo.c_str(), 1);
  } else {
    std::printf("crashcheck: no restic: the offsite push workload is left out\n");
  }
  std::printf("crashcheck: %s model, at most %zu states per workload, seed %u\n",
              model == Model::posix ? "posix" : "barrier", budget, seed);
  Totals totals;
  std::size_t ran = 0;
  for (const auto& workload : workloads()) {
    if (!only.empty() && workload.name.find(only) == std::string::npos) {
      continue;
    }
    try {
      const Totals t = run(workload, scratch, model, budget, seed, verbose);
      totals.states += t.states;
      totals.violations += t.violations;
      ++ran;
    } catch (const std::exception& e) {
      std::printf("  %-40s FAILED TO RUN: %s\n", workload.name.c_str(), e.what());
      ++totals.violations;
    }
  }
  util::remove_all(scratch);
  std::printf("crashcheck: %zu workloads, %zu states explored, %zu violations\n", ran, totals.states,
              totals.violations);
  return totals.violations == 0 && ran > 0 ? 0 : 1;
}
