#include "commands.hpp"
#include "core/backup/cleanup.hpp"
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

std::vector<core::BackupInfo> selected(const core::Store& store, const VerifyArgs& args)
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
  for (const auto& entry : core::list_backups(store, std::nullopt)) {
    if (!entry.info) {
      throw Error(ExitCode::malformed, entry.error);
    }
    if (core::in_subset(entry.info->id(), slice.first, slice.second)) {
      chosen.push_back(*entry.info);
    }
  }
  return chosen;
}

void print_result(const core::BackupInfo& info, const core::BackupCheck& check)
{
  if (check.ok()) {
    std::cout << info.id() << ": OK (" << info.manifest.file_count() << " files, "
              << util::human_size(info.manifest.total_size()) << ")\n";
    return;
  }
  std::cout << info.id() << ": FAILED (" << check.problems.size() << " problems)\n";
  for (const auto& problem : check.problems) {
    std::cout << "  " << problem << '\n';
  }
}

struct Verified {
  core::BackupInfo info;
  core::BackupCheck check;
  std::string model;
};

/// Verifies the chosen backups of one model; hashing runs without the lock, only recording
/// the results takes it, briefly.
void verify_model(const Context& context, const core::Store& store, const VerifyArgs& args,
                  std::vector<Verified>& results)
{
  const auto backups = selected(store, args);
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
    if (util::exists(backups[i].path / core::filenames::backup_record)) {
      core::record_verification(backups[i], checks[i]);
    }
    results.push_back({backups[i], checks[i], store.model()});
  }
}

void run(const VerifyArgs& args, const GlobalOptions& options)
{
  if (args.all_models && !args.all) {
    throw Error(ExitCode::usage, "--all-models goes with --all");
  }
  const Context context(options);
  std::vector<Verified> results;
  for (const auto& store : context.stores(args.all_models)) {
    verify_model(context, store, args, results);
  }
  std::size_t failed = 0;
  nlohmann::json doc = {{"backups", nlohmann::json::array()}};
  for (const auto& result : results) {
    failed += result.check.ok() ? 0 : 1;
    doc["backups"].push_back({{"id", result.info.id()},
                              {"model", result.model},
                              {"ok", result.check.ok()},
                              {"checks", result.check.checks},
                              {"problems", result.check.problems}});
  }
  doc["ok"] = failed == 0;
  context.emit(doc, [&] {
    if (results.empty()) {
      std::cout << "No backups to verify\n";
    }
    for (const auto& result : results) {
      if (args.all_models) {
        std::cout << result.model << ": ";
      }
      print_result(result.info, result.check);
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
