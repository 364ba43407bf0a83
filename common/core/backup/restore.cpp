#include "core/backup/restore.hpp"

#include "core/backup/backup.hpp"
#include "core/layout/store.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace modelkeep::core {

nlohmann::json RestoreResult::to_json() const
{
  return {{"target", target.string()},
          {"already_identical", already_identical},
          {"pre_restore_backup", backup_path ? nlohmann::json(backup_path->string()) : nlohmann::json(nullptr)}};
}

namespace {

/// Removes temporaries that an earlier, killed restore left beside `target`.
void remove_restore_leftovers(const fs::path& target)
{
  const std::string prefix = "." + target.filename().string() + ".";
  std::error_code ec;
  for (fs::directory_iterator it(target.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0 && util::is_temp_name(name) &&
        (name.find(".restore.tmp") != std::string::npos || name.find(".old.tmp") != std::string::npos)) {
      util::remove_all(it->path());
    }
  }
}

fs::path checked_target(const Store& store, const fs::path& requested)
{
  fs::path target = fs::weakly_canonical(fs::absolute(requested));
  const auto [root_end, target_it] =
      std::mismatch(store.root().begin(), store.root().end(), target.begin(), target.end());
  if (root_end == store.root().end()) {
    throw Error(ExitCode::refused, "refusing to restore into the store itself " + target.string());
  }
  if (util::exists_no_follow(target) && (util::is_symlink(target) || !util::is_directory(target))) {
    throw Error(ExitCode::refused,
                "refusing to replace " + target.string() + ": it exists and is not a directory");
  }
  return target;
}

void swap_in(const fs::path& fresh, const fs::path& target, bool target_exists)
{
  if (!target_exists) {
    util::rename_durable(fresh, target);
    return;
  }
  util::failpoint("restore.before_swap");
  util::log_step("swapping the verified copy into " + target.string());
  if (util::exchange_paths(fresh, target)) {
    util::failpoint("restore.after_swap");
    util::remove_all(fresh); // now holds the old content, already backed up or identical
    return;
  }
  const fs::path old = util::temp_path_for(target, "old");
  util::rename_durable(target, old);
  util::rename_durable(fresh, target);
  util::remove_all(old);
}

} // namespace

RestoreResult restore_into(const Store& store, const Manifest& manifest, const fs::path& requested_target,
                           const std::string& label, bool show_progress, const Materializer& materialize)
{
  RestoreResult result;
  result.target = checked_target(store, requested_target);
  const fs::path& target = result.target;
  util::create_directories(target.parent_path());
  remove_restore_leftovers(target);

  std::error_code ec;
  const bool target_exists = util::is_directory(target);
  if (target_exists) {
    util::Progress progress("comparing target", manifest.total_size(), show_progress);
    if (check_tree(target, manifest, &progress).ok()) {
      result.already_identical = true;
      return result;
    }
  }

  util::require_space(target.parent_path(), manifest.total_size());
  const fs::path fresh = util::temp_path_for(target, "restore");
  const util::TempPath cleanup(fresh);

  util::Progress copy_progress("restoring", manifest.total_size(), show_progress);
  const Manifest copied = materialize(fresh, &copy_progress);
  copy_progress.finish();
  util::failpoint("restore.after_copy");
  util::Progress verify_progress("verifying", manifest.total_size(), show_progress);
  const TreeCheck check = check_tree(fresh, manifest, &verify_progress, {}, Hashing::yes, util::ReadFrom::device);
  verify_progress.finish();
  if (copied.digest() != manifest.digest() || !check.ok()) {
    throw Error(ExitCode::failed, "restored copy does not match the recorded checksums (" + check.summary() +
                                      "); " + label + " may be damaged: run verify");
  }

  if (target_exists && !scan_tree(target, Symlinks::inside_only).empty()) {
    const BackupRecord backup =
        create_verified_backup(store,
                               {target,
                                "pre_restore",
                                target.filename().string(),
                                "before restoring " + label + " into " + target.string(),
                                {}},
                               show_progress);
    result.backup_path = backup.path;
  }
  swap_in(fresh, target, target_exists);
  return result;
}

RestoreResult restore_tree(const Store& store, const fs::path& source_root, const Manifest& manifest,
                           const fs::path& target, const std::string& label, bool show_progress)
{
  return restore_into(store, manifest, target, label, show_progress,
                      [&](const fs::path& fresh, util::Progress* progress) {
                        std::vector<SourceFile> files;
                        files.reserve(manifest.file_count());
                        for (const auto& entry : manifest.files()) {
                          files.push_back({entry.path, source_root / entry.path, entry.size, entry.mode});
                        }
                        return copy_tree(files, fresh, progress);
                      });
}

} // namespace modelkeep::core
