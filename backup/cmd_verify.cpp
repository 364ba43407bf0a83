#include "commands.hpp"
#include "core/backup/cleanup.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::backup {

namespace {

struct VerifyArgs {
  std::vector<std::string> backups;
  bool all = false;
  bool all_models = false;
  bool quick = false;
  std::string subset;
};

} // namespace

std::pair<unsigned, unsigned> parse_subset(const std::string& text)
{
  const auto parts = util::split(text, '/');
  std::uint64_t n = 0;
  std::uint64_t t = 0;
  if (parts.size() != 2 || !util::parse_uint(parts[0], n) || !util::parse_uint(parts[1], t) || n < 1 ||
      n > t || t > 10000) {
    throw Error(ExitCode::usage, "invalid --subset '" + text + "': use n/t with 1 <= n <= t, e.g. 3/7");
  }
  return {static_cast<unsigned>(n), static_cast<unsigned>(t)};
}

namespace {

std::vector<core::BackupInfo> selected(const core::Store& store, const VerifyArgs& args, std::size_t& existing)
{
  if (args.all == !args.backups.empty()) {
    throw Error(ExitCode::usage, "name the backups to verify, or give --all");
  }
  if (!args.subset.empty() && !args.all) {
    throw Error(ExitCode::usage, "--subset goes with --all");
  }
  std::vector<core::BackupInfo> chosen;
  if (!args.all) {
    for (const auto& text : args.backups) {
      chosen.push_back(core::resolve_backup(store, text));
    }
    return chosen;
  }
  const auto slice = args.subset.empty() ? std::pair<unsigned, unsigned>{1, 1} : parse_subset(args.subset);
  const auto entries = core::list_backups(store, std::nullopt);
  existing += entries.size();
  for (const auto& entry : entries) {
    if (!entry.info) {
      throw Error(ExitCode::malformed, entry.error);
    }
    if (core::in_subset(entry.info->id(), slice.first, slice.second)) {
      chosen.push_back(*entry.info);
    }
  }
  return chosen;
}

struct Verified {
  core::BackupInfo info;
  core::BackupCheck check;
  core::VerificationRecord state; ///< the recorded state after this check
  std::string model;

  /// Good only if this check found nothing and the copy is not failed from an earlier one (a
  /// quick check cannot clear a failure).
  [[nodiscard]] bool ok() const { return check.ok() && !state.failed(); }
};

void print_result(const Verified& result)
{
  const auto& info = result.info;
  const bool quick = result.check.depth == core::CheckDepth::quick;
  if (result.ok()) {
    std::cout << info.id() << ": OK (" << info.manifest.file_count() << " files, "
              << util::human_size(info.manifest.total_size()) << (quick ? "; sizes only" : "") << ")\n";
    return;
  }
  if (result.check.ok()) {
    std::cout << info.id() << ": FAILED (sizes match, but a check failed at " << result.state.failed_at
              << " and only a full verify can clear it)\n";
    for (const auto& problem : result.state.problems) {
      std::cout << "  " << problem << '\n';
    }
    return;
  }
  std::cout << info.id() << ": FAILED (" << result.check.problems.size() << " problems)\n";
  for (const auto& problem : result.check.problems) {
    std::cout << "  " << problem << '\n';
  }
}

/// Verifies the chosen backups of one model; hashing runs without the lock, only recording
/// the results takes it, briefly.
void verify_model(const Context& context, const core::Store& store, const VerifyArgs& args,
                  std::vector<Verified>& results, std::size_t& existing)
{
  const auto backups = selected(store, args, existing);
  std::vector<core::BackupCheck> checks;
  for (const auto& info : backups) {
    util::Progress progress("verifying " + info.id(), info.manifest.total_size(), context.progress());
    checks.push_back(
        core::verify_backup(info, args.quick ? core::Hashing::no : core::Hashing::yes, &progress));
  }
  if (backups.empty()) {
    return;
  }
  const auto lock = context.lock(store, "verify");
  for (std::size_t i = 0; i < backups.size(); ++i) {
    core::VerificationRecord state = backups[i].verification.apply(
        checks[i].depth, checks[i].checks, checks[i].problems, util::utc_now_iso8601());
    if (util::exists(backups[i].path / core::filenames::backup_record)) {
      state = core::record_verification(backups[i], checks[i]);
    }
    results.push_back({backups[i], checks[i], state, store.model()});
  }
}

void run(const VerifyArgs& args, const GlobalOptions& options)
{
  if (args.all_models && !args.all) {
    throw Error(ExitCode::usage, "--all-models goes with --all");
  }
  const Context context(options);
  std::vector<Verified> results;
  std::size_t existing = 0;
  const auto stores = context.stores(args.all_models);
  for (const auto& store : stores) {
    verify_model(context, store, args, results, existing);
  }
  if (args.all && existing == 0) {
    // A nightly verification that checks nothing must not look like one that passed.
    throw Error(ExitCode::not_found, "nothing was verified: no backups in " +
                                         (args.all_models ? context.root().string()
                                                          : stores.front().backups_dir().string()));
  }
  std::size_t failed = 0;
  nlohmann::json doc = {{"backups", nlohmann::json::array()}};
  for (const auto& result : results) {
    failed += result.ok() ? 0 : 1;
    doc["backups"].push_back({{"id", result.info.id()},
                              {"model", result.model},
                              {"ok", result.ok()},
                              {"depth", core::to_string(result.check.depth)},
                              {"state", core::to_string(result.state.state)},
                              {"checks", result.check.checks},
                              {"problems", result.check.ok() ? result.state.problems : result.check.problems}});
  }
  doc["ok"] = failed == 0;
  context.emit(doc, [&] {
    if (results.empty()) {
      std::cout << "No backups in slice " << args.subset << " (of " << existing << ")\n";
    }
    for (const auto& result : results) {
      if (args.all_models) {
        std::cout << result.model << ": ";
      }
      print_result(result);
    }
  });
  if (failed > 0) {
    throw Error(ExitCode::failed, std::to_string(failed) + " of " + std::to_string(results.size()) +
                                      " backups failed verification");
  }
}

} // namespace

void add_verify(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand("verify", "Check backups: file count, total size, critical files, each "
                                           "size, and every SHA-256; records the result");
  cmd->add_option("BACKUP", args->backups, "A backup: its path, TYPE/NAME, or its name");
  cmd->add_flag("--all", args->all, "Verify every backup");
  cmd->add_flag("--all-models", args->all_models, "With --all: every backup of every model in the root");
  cmd->add_flag("--quick", args->quick, "Skip the SHA-256 check (count, sizes and critical files only)");
  cmd->add_option("--subset", args->subset,
                  "With --all: only slice n of t (e.g. 3/7), so t runs cover everything");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::backup
