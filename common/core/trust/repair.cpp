#include "core/trust/repair.hpp"

#include "core/backup/backup.hpp"
#include "core/layout/objects.hpp"
#include "core/layout/store.hpp"
#include "core/tree/archive.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sys/stat.h>

namespace modelkeep::core {

namespace {

using Inode = std::pair<std::uint64_t, std::uint64_t>;

std::optional<Inode> inode_of(const fs::path& path)
{
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return Inode{st.st_dev, st.st_ino};
}

/// A place that may hold a content: what to call it, and how to get a file of it (an archive
/// or a remote copy is unpacked only when a candidate is tried).
struct Candidate {
  std::string label;
  std::function<std::optional<fs::path>()> file;
};

/// The places that may hold each wanted content, in the order they are tried.
using Candidates = std::map<std::string, std::vector<Candidate>>;

/// Every object, version file and backup file of `store` whose manifest says one of the wanted
/// SHA-256 (the keys of `out`), in one pass over its versions and backups.
void add_store_candidates(const Store& store, const std::string& prefix, Candidates& out,
                          const fs::path& scratch)
{
  for (auto& [sha, list] : out) {
    const fs::path object = object_path(store, sha);
    list.push_back({prefix + "the stored object", [object]() -> std::optional<fs::path> { return object; }});
  }
  for (const auto& version : list_versions(store)) {
    try {
      const VersionMetadata meta = load_metadata(version.path);
      for (const auto& file : meta.manifest.files()) {
        if (const auto wanted = out.find(file.sha256); wanted != out.end()) {
          const fs::path path = version.path / file.path;
          wanted->second.push_back({prefix + version.name + "/" + file.path,
                                    [path]() -> std::optional<fs::path> { return path; }});
        }
      }
    } catch (const Error&) {
      continue; // a version whose metadata is unreadable offers nothing
    }
  }
  for (const auto& entry : list_backups(store, std::nullopt)) {
    if (!entry.info) {
      continue;
    }
    const BackupInfo info = *entry.info;
    for (const auto& file : info.manifest.files()) {
      const auto wanted = out.find(file.sha256);
      if (wanted == out.end()) {
        continue;
      }
      if (info.format == BackupFormat::dir) {
        const fs::path path = info.data_path() / file.path;
        wanted->second.push_back(
            {prefix + "backup " + info.id(), [path]() -> std::optional<fs::path> { return path; }});
        continue;
      }
      wanted->second.push_back(
          {prefix + "backup " + info.id(), [info, file, scratch]() -> std::optional<fs::path> {
             const fs::path dir = scratch / util::slugify(info.id(), 80);
             if (!util::exists(dir)) {
               (void)extract_archive(info.data_path(), dir, nullptr);
             }
             return dir / file.path;
           }});
    }
  }
}

/// The remote copies of `info` in `repository`, each a candidate for its file `relative`.
void add_remote_copies(const Restic& remote, const std::string& repository, const BackupInfo& info,
                       const std::string& relative, std::vector<Candidate>& out, const fs::path& scratch)
{
  for (const auto& record : offsite_records(info)) {
    if (record.repository != repository || !record.forgotten_at.empty()) {
      continue;
    }
    out.push_back({"remote copy " + record.snapshot.substr(0, 8) + " of " + info.id(),
                   [&remote, record, info, relative, scratch]() -> std::optional<fs::path> {
                     RemoteCopy copy;
                     copy.id = record.snapshot;
                     copy.short_id = record.snapshot.substr(0, 8);
                     copy.paths = {fs::absolute(info.path).lexically_normal().string()};
                     copy.digest = info.manifest.digest();
                     std::optional<fs::path> found;
                     const fs::path keep = scratch / ("remote-" + copy.short_id);
                     if (util::is_directory(keep / "data")) {
                       return keep / "data" / relative; // restored for another file already
                     }
                     with_restored_copy(remote, copy, scratch, [&](const BackupInfo& restored) {
                       util::create_directories(keep);
                       const fs::path data = keep / "data";
                       if (restored.format == BackupFormat::dir) {
                         util::rename_durable(restored.data_path(), data);
                       } else {
                         (void)extract_archive(restored.data_path(), data, nullptr);
                       }
                       found = data / relative;
                     });
                     return found;
                   }});
  }
}

/// The remote copies of local backups that hold a wanted content, restored one at a time when tried.
void add_remote_candidates(const Store& store, const Restic& remote, Candidates& out, const fs::path& scratch)
{
  const std::string repository = remote.config().shown_repository();
  for (const auto& entry : list_backups(store, std::nullopt)) {
    if (!entry.info) {
      continue;
    }
    const BackupInfo info = *entry.info;
    for (const auto& file : info.manifest.files()) {
      const auto wanted = out.find(file.sha256);
      if (wanted != out.end()) {
        add_remote_copies(remote, repository, info, file.path, wanted->second, scratch);
      }
    }
  }
}

/// The first candidate whose file hashes to `sha`; the others are noted in `tried`.
std::optional<std::pair<std::string, fs::path>> first_intact(const std::vector<Candidate>& candidates,
                                                             const std::string& sha,
                                                             const std::set<Inode>& damaged,
                                                             std::vector<std::string>& tried)
{
  for (const auto& candidate : candidates) {
    try {
      const auto file = candidate.file();
      if (!file || !util::is_regular_file(*file)) {
        continue;
      }
      if (const auto inode = inode_of(*file); inode && damaged.count(*inode) != 0) {
        tried.push_back(candidate.label + ": the same damaged file");
        continue;
      }
      if (util::sha256_file(*file, nullptr) != sha) {
        tried.push_back(candidate.label + ": damaged too");
        continue;
      }
      return std::make_pair(candidate.label, *file);
    } catch (const Error& e) {
      tried.push_back(candidate.label + ": " + e.what());
    }
  }
  return std::nullopt;
}

/// The places to look for each of `shas`: this model's, the other models' of the root, then
/// (with `remote`) the remote copies of this model's backups. One pass over each store.
Candidates candidates_for(const Store& store, const std::set<std::string>& shas, const Restic* remote,
                          const fs::path& scratch)
{
  Candidates candidates;
  for (const auto& sha : shas) {
    candidates[sha];
  }
  add_store_candidates(store, "", candidates, scratch);
  for (const auto& model : discover_models(store.root())) {
    if (model != store.model()) {
      add_store_candidates(Store(store.root(), model), "model " + model + ": ", candidates, scratch);
    }
  }
  if (remote != nullptr) {
    add_remote_candidates(store, *remote, candidates, scratch);
  }
  return candidates;
}

} // namespace

std::vector<DamagedFile> damaged_files(const Store& store, const std::vector<VersionCheck>& checks)
{
  std::vector<DamagedFile> damaged;
  std::optional<std::vector<std::pair<VersionDir, VersionMetadata>>> all;
  for (const auto& check : checks) {
    if (check.ok() || check.metadata_error) {
      continue;
    }
    const VersionMetadata meta = load_metadata(check.version.path);
    const auto add = [&](const std::string& path, bool missing) {
      const FileEntry* entry = meta.manifest.find(path);
      if (entry == nullptr) {
        return;
      }
      DamagedFile file{check.version.name, path, entry->sha256, entry->mode, missing, {}};
      const auto inode = missing ? std::nullopt : inode_of(check.version.path / path);
      if (inode) {
        if (!all) {
          all.emplace();
          for (const auto& version : list_versions(store)) {
            try {
              all->emplace_back(version, load_metadata(version.path));
            } catch (const Error&) {
            }
          }
        }
        for (const auto& [other, other_meta] : *all) {
          if (other.name == check.version.name) {
            continue;
          }
          for (const auto& candidate : other_meta.manifest.files()) {
            if (candidate.sha256 == entry->sha256 && inode_of(other.path / candidate.path) == inode) {
              file.shared_with.push_back(other.name);
              break;
            }
          }
        }
      }
      damaged.push_back(std::move(file));
    };
    for (const auto& path : check.files.modified) {
      add(path, false);
    }
    for (const auto& path : check.files.missing) {
      add(path, true);
    }
  }
  return damaged;
}

void record_damage(const Store& store, const std::vector<DamagedFile>& damaged)
{
  std::map<std::string, std::string> where;
  for (const auto& file : damaged) {
    const auto object = inode_of(object_path(store, file.sha256));
    const auto linked = file.missing ? std::nullopt : inode_of(store.version_path(file.version) / file.path);
    // The object is damaged when the damaged file is the object itself (a hard link to it).
    if (object && linked && *object == *linked) {
      where.emplace(file.sha256, file.version + "/" + file.path);
    }
  }
  mark_damaged(store, where);
}

bool RepairReport::ok() const
{
  return std::all_of(after.begin(), after.end(), [](const VersionCheck& c) { return c.ok(); }) &&
         std::all_of(repairs.begin(), repairs.end(), [](const Repair& r) { return !r.source.empty(); });
}

RepairReport repair_versions(const Store& store, const std::vector<VersionDir>& versions,
                             const Restic* remote, bool show_progress)
{
  RepairReport report;
  for (const auto& version : versions) {
    report.before.push_back(verify_version(version, show_progress));
  }
  const auto damaged = damaged_files(store, report.before);
  record_damage(store, damaged);
  std::map<std::string, std::vector<const DamagedFile*>> by_content;
  std::set<Inode> damaged_inodes;
  for (const auto& file : damaged) {
    by_content[file.sha256].push_back(&file);
    if (!file.missing) {
      if (const auto inode = inode_of(store.version_path(file.version) / file.path)) {
        damaged_inodes.insert(*inode);
      }
    }
  }
  for (const auto& check : report.before) {
    if (check.metadata_error) {
      report.notes.push_back(check.version.name + ": metadata.json cannot be used (" + *check.metadata_error +
                             "); restore the version from a backup of it");
    }
    for (const auto& extra : check.files.extra) {
      report.notes.push_back(check.version.name + ": extra file " + extra +
                             " left as it is (not part of the version; move it out)");
    }
  }
  const util::TempPath scratch(util::temp_path_for(store.backups_dir() / "repair"));
  util::create_directories(scratch.path());
  std::set<std::string> wanted;
  for (const auto& [sha, files] : by_content) {
    wanted.insert(sha);
  }
  const Candidates candidates = candidates_for(store, wanted, remote, scratch.path());
  for (const auto& [sha, files] : by_content) {
    Repair repair;
    repair.sha256 = sha;
    for (const auto* file : files) {
      repair.files.push_back(file->version + "/" + file->path);
    }
    const auto source = first_intact(candidates.at(sha), sha, damaged_inodes, repair.tried);
    if (source) {
      repair.source = source->first;
      const fs::path object = store_object(store, source->second, sha);
      util::failpoint("repair.after_object");
      for (const auto* file : files) {
        const fs::path dest = store.version_path(file->version) / file->path;
        if (!util::is_directory(dest.parent_path())) {
          const util::WritableDir writable(store.version_path(file->version));
          util::create_directories(dest.parent_path());
        }
        relink_file(store, object, dest, file->mode);
      }
      clear_damaged(store, {sha});
    }
    report.repairs.push_back(std::move(repair));
  }
  for (const auto& check : report.before) {
    if (!check.ok()) {
      report.after.push_back(verify_version(check.version, show_progress));
    }
  }
  return report;
}

BackupRepair repair_backup(const Store& store, const BackupInfo& backup, bool show_progress)
{
  BackupRepair result;
  result.backup = backup;
  if (backup.format != BackupFormat::dir) {
    result.refused = "an archive is not rewritten in place: restore it from its remote copy "
                     "(backup-manager offsite restore) or make a new backup of its source";
    return result;
  }
  util::Progress progress("checking " + backup.id(), backup.manifest.total_size(), show_progress);
  const TreeCheck check = check_tree(backup.data_path(), backup.manifest, &progress);
  progress.finish();
  std::vector<std::string> bad = check.modified;
  bad.insert(bad.end(), check.missing.begin(), check.missing.end());
  const util::TempPath scratch(util::temp_path_for(store.backups_dir() / "repair"));
  util::create_directories(scratch.path());
  std::set<Inode> damaged_inodes;
  for (const auto& path : check.modified) {
    if (const auto inode = inode_of(backup.data_path() / path)) {
      damaged_inodes.insert(*inode);
    }
  }
  std::set<std::string> wanted;
  for (const auto& path : bad) {
    if (const FileEntry* entry = backup.manifest.find(path)) {
      wanted.insert(entry->sha256);
    }
  }
  const Candidates candidates = candidates_for(store, wanted, nullptr, scratch.path());
  for (const auto& path : bad) {
    const FileEntry* entry = backup.manifest.find(path);
    if (entry == nullptr) {
      continue;
    }
    Repair repair;
    repair.sha256 = entry->sha256;
    repair.files = {backup.id() + "/" + path};
    const auto source =
        first_intact(candidates.at(entry->sha256), entry->sha256, damaged_inodes, repair.tried);
    if (source) {
      repair.source = source->first;
      const fs::path dest = backup.data_path() / path;
      util::create_directories(dest.parent_path());
      // The temporary lives where the next writer's cleanup looks: the top of backups/<type>/.
      util::TempPath temp(util::temp_path_for(backup.path.parent_path() / dest.filename()));
      const auto copied = util::copy_file_hashed(source->second, temp.path(), entry->mode, nullptr);
      if (copied.sha256 != entry->sha256) {
        throw Error(ExitCode::failed, "the copy from " + source->first + " changed while it was read");
      }
      util::rename_durable(temp.path(), dest);
      temp.commit();
    }
    result.repairs.push_back(std::move(repair));
  }
  util::Progress verify_progress("verifying " + backup.id(), backup.manifest.total_size(), show_progress);
  result.after = verify_backup(backup, Hashing::yes, &verify_progress);
  (void)record_verification(backup, *result.after);
  return result;
}

} // namespace modelkeep::core
