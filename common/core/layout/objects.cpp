#include "core/layout/objects.hpp"

#include "core/layout/store.hpp"
#include "util/clock.hpp"
#include "util/copy.hpp"
#include "util/enum_names.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/json_file.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace modelkeep::core {

using nlohmann::json;

namespace {

constexpr std::int64_t k_racy_guard_ns = 2'000'000'000;
constexpr std::size_t k_max_cache_entries = 200'000;

std::int64_t now_ns()
{
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

fs::path cache_path(const Store& store)
{
  return store.state_dir() / filenames::stat_cache;
}

/// Makes `dest` a reflink of `object`; false if the filesystem cannot.
bool try_reflink(const fs::path& object, const fs::path& dest)
{
  util::UniqueFd in = util::open_for_reading(object);
  util::UniqueFd out = util::create_exclusive(dest, 0444);
  if (util::env().reflink(out.get(), in.get()) != 0) {
    const int err = errno;
    out = util::UniqueFd();
    (void)util::env().unlink(dest);
    if (err == EOPNOTSUPP || err == ENOTTY || err == EXDEV || err == EINVAL || err == ENOSYS) {
      return false;
    }
    errno = err;
    throw_errno("cannot reflink " + object.string() + " to", dest);
  }
  if (util::env().fchmod(out.get(), 0444) != 0) {
    throw_errno("cannot set mode of", dest);
  }
  util::fsync_fd(out.get(), dest);
  out.close(dest);
  return true;
}

/// Links `dest` to the object the way `mode` allows, falling back as automatic does; returns
/// the way used.
LinkMode link_object(const fs::path& object, const fs::path& dest, LinkMode mode,
                     std::atomic<bool>& reflink_works, std::uint32_t copy_mode)
{
  if ((mode == LinkMode::automatic && reflink_works) || mode == LinkMode::reflink) {
    if (try_reflink(object, dest)) {
      return LinkMode::reflink;
    }
    if (mode == LinkMode::reflink) {
      throw Error(ExitCode::failed, "cannot reflink into " + dest.parent_path().string() +
                                        ": the filesystem does not support it (use --link auto or hardlink)");
    }
    reflink_works = false;
  }
  if (mode == LinkMode::automatic || mode == LinkMode::hardlink) {
    if (util::env().link(object, dest) == 0) {
      return LinkMode::hardlink;
    }
    // Too many links to one inode (ext4: 65,000) or a filesystem without hard links: copy.
    if (mode == LinkMode::hardlink && errno != EMLINK) {
      throw_errno("cannot hard-link " + object.string() + " to", dest);
    }
  }
  (void)util::copy_file_hashed(object, dest, copy_mode, nullptr);
  return LinkMode::copy;
}

} // namespace

namespace {

constexpr std::string_view k_link_modes[] = {"auto", "reflink", "hardlink", "copy"};

} // namespace

LinkMode parse_link_mode(const std::string& text)
{
  if (const auto mode = util::parse_enum<LinkMode>(k_link_modes, text)) {
    return *mode;
  }
  throw Error(ExitCode::usage,
              "invalid link mode '" + util::printable(text) + "': use " + util::choices(k_link_modes));
}

std::string link_mode_name(LinkMode mode)
{
  return std::string(util::enum_name(k_link_modes, mode));
}

LinkMode configured_link_mode(const Store& store)
{
  const json doc = store.config();
  const auto it = doc.find("link");
  if (it == doc.end()) {
    return LinkMode::automatic;
  }
  if (!it->is_string()) {
    throw Error(ExitCode::malformed, "bad store config: \"link\" is not a string");
  }
  return parse_link_mode(it->get<std::string>());
}

fs::path objects_dir(const Store& store)
{
  return store.state_dir() / filenames::objects / filenames::object_hash;
}

fs::path object_path(const Store& store, const std::string& sha256)
{
  return objects_dir(store) / sha256.substr(0, 2) / sha256.substr(2);
}

std::optional<FileStamp> FileStamp::of(const fs::path& path)
{
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  FileStamp s;
  s.device = st.st_dev;
  s.inode = st.st_ino;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return s;
}

StatCache StatCache::load(const Store& store)
{
  StatCache cache;
  std::string text;
  try {
    text = util::read_file(cache_path(store), util::bytes(util::JsonLimit::index));
  } catch (const Error&) {
    return cache;
  }
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("files") || !doc["files"].is_object()) {
    return cache; // a damaged cache only costs re-hashing
  }
  for (const auto& [path, e] : doc["files"].items()) {
    try {
      Entry entry;
      entry.stamp.device = e.at("dev").get<std::uint64_t>();
      entry.stamp.inode = e.at("ino").get<std::uint64_t>();
      entry.stamp.size = e.at("size").get<std::uint64_t>();
      entry.stamp.mtime_ns = e.at("mtime_ns").get<std::int64_t>();
      entry.stamp.ctime_ns = e.at("ctime_ns").get<std::int64_t>();
      entry.sha256 = e.at("sha256").get<std::string>();
      entry.hashed_at_ns = e.at("hashed_at_ns").get<std::int64_t>();
      if (util::is_sha256_hex(entry.sha256)) {
        cache.m_entries[path] = entry;
      }
    } catch (const json::exception&) {
      continue;
    }
  }
  return cache;
}

std::optional<std::string> StatCache::lookup(const fs::path& path, const FileStamp& stamp) const
{
  const std::lock_guard<std::mutex> guard(m_mutex);
  const auto it = m_entries.find(path.string());
  if (it == m_entries.end() || !(it->second.stamp == stamp) ||
      it->second.hashed_at_ns - stamp.mtime_ns < k_racy_guard_ns) {
    return std::nullopt;
  }
  return it->second.sha256;
}

void StatCache::remember(const fs::path& path, const FileStamp& stamp, const std::string& sha256,
                         std::int64_t hashed_at_ns)
{
  const std::lock_guard<std::mutex> guard(m_mutex);
  m_entries[path.string()] = {stamp, sha256, hashed_at_ns};
}

void StatCache::save(const Store& store) const
{
  const std::lock_guard<std::mutex> guard(m_mutex);
  json files = json::object();
  std::size_t kept = 0;
  for (const auto& [path, entry] : m_entries) {
    if (kept >= k_max_cache_entries) {
      break;
    }
    if (!util::exists(path)) {
      continue;
    }
    files[path] = {{"dev", entry.stamp.device},         {"ino", entry.stamp.inode},
                   {"size", entry.stamp.size},          {"mtime_ns", entry.stamp.mtime_ns},
                   {"ctime_ns", entry.stamp.ctime_ns},  {"sha256", entry.sha256},
                   {"hashed_at_ns", entry.hashed_at_ns}};
    ++kept;
  }
  util::write_file_atomic(cache_path(store), json{{"version", 1}, {"files", files}}.dump() + '\n');
}

Manifest ingest_tree(const Store& store, const std::vector<SourceFile>& files, const fs::path& dest_root,
                     LinkMode mode, StatCache& cache, util::Progress* progress, IngestStats& stats)
{
  if (mode == LinkMode::copy) {
    Manifest manifest = copy_tree(files, dest_root, progress);
    for (const auto& file : manifest.files()) {
      stats.bytes_read += file.size;
      ++stats.files_stored;
    }
    stats.used = LinkMode::copy;
    return manifest;
  }
  std::set<fs::path> dirs{dest_root};
  for (const auto& file : files) {
    for (fs::path dir = (dest_root / file.relative).parent_path();
         dir != dest_root && dirs.insert(dir).second; dir = dir.parent_path()) {
    }
  }
  for (const auto& dir : dirs) {
    util::create_directories(dir);
  }
  const fs::path staging = objects_dir(store).parent_path();
  util::create_directories(objects_dir(store));
  std::vector<FileEntry> entries(files.size());
  std::atomic<bool> reflink_works{true};
  std::atomic<std::uint64_t> linked{0};
  std::atomic<std::uint64_t> stored{0};
  std::atomic<std::uint64_t> bytes_read{0};
  std::atomic<int> used{static_cast<int>(LinkMode::copy)};
  std::mutex shard_mutex;
  std::set<fs::path> new_shards;
  const std::set<std::string> damaged = damaged_objects(store);
  std::set<std::string> mended;
  const auto order = largest_first(files);
  util::parallel_for(order.size(), util::worker_threads(order.size()), [&](std::size_t k) {
    const auto& file = files[order[k]];
    const auto stamp = FileStamp::of(file.absolute);
    std::optional<std::string> sha;
    if (stamp) {
      sha = cache.lookup(file.absolute, *stamp);
    }
    if (sha && damaged.count(*sha) == 0 && util::exists(object_path(store, *sha))) {
      ++linked;
      if (progress != nullptr) {
        progress->add(file.size);
      }
    } else {
      // One pass: copy into a new object while hashing, then give it its name.
      const std::int64_t hashed_at = now_ns();
      const fs::path temp = util::temp_path_for(staging / "object");
      util::TempPath guard(temp);
      const auto copied = util::copy_file_hashed(file.absolute, temp, 0444, progress);
      bytes_read += copied.size;
      sha = copied.sha256;
      const fs::path object = object_path(store, *sha);
      if (util::exists(object) && damaged.count(*sha) == 0) {
        ++linked; // the content was there already (under another name or stamp)
      } else {
        if (damaged.count(*sha) != 0) {
          // The stored copy was damaged: this fresh one (its hash just computed) replaces it.
          const std::lock_guard<std::mutex> lock(shard_mutex);
          mended.insert(*sha);
        }
        {
          const std::lock_guard<std::mutex> lock(shard_mutex);
          if (!util::is_directory(object.parent_path())) {
            util::create_directories(object.parent_path());
          }
          new_shards.insert(object.parent_path());
        }
        if (util::env().rename(temp, object) != 0) {
          throw_errno("cannot store object " + object.string() + " from", temp);
        }
        guard.commit();
        util::failpoint("ingest.after_object");
        ++stored;
      }
      if (stamp) {
        cache.remember(file.absolute, *stamp, *sha, hashed_at);
      }
    }
    const LinkMode way =
        link_object(object_path(store, *sha), dest_root / file.relative, mode, reflink_works, file.mode);
    used = static_cast<int>(way);
    entries[order[k]] = {file.relative, file.size, file.mode, *sha};
  });
  for (const auto& shard : new_shards) {
    util::fsync_dir(shard);
  }
  util::fsync_dir(objects_dir(store));
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    util::fsync_dir(*it);
  }
  clear_damaged(store, mended);
  stats.files_linked += linked;
  stats.files_stored += stored;
  stats.bytes_read += bytes_read;
  stats.used = static_cast<LinkMode>(used.load());
  return Manifest(std::move(entries));
}

Manifest hash_files_cached(const std::vector<SourceFile>& files, StatCache& cache, util::Progress* progress)
{
  std::vector<FileEntry> entries(files.size());
  const auto order = largest_first(files);
  util::parallel_for(order.size(), util::worker_threads(order.size()), [&](std::size_t k) {
    const auto& file = files[order[k]];
    const auto stamp = FileStamp::of(file.absolute);
    std::optional<std::string> sha = stamp ? cache.lookup(file.absolute, *stamp) : std::nullopt;
    if (!sha) {
      const std::int64_t hashed_at = now_ns();
      sha = util::sha256_file(file.absolute, progress);
      // Only if the file did not change while it was read.
      if (stamp && FileStamp::of(file.absolute) == stamp) {
        cache.remember(file.absolute, *stamp, *sha, hashed_at);
      }
    } else if (progress != nullptr) {
      progress->add(file.size);
    }
    entries[order[k]] = {file.relative, file.size, file.mode, *sha};
  });
  return Manifest(std::move(entries));
}

namespace {

fs::path damaged_path(const Store& store)
{
  return store.state_dir() / filenames::damaged_objects;
}

json read_damaged(const Store& store)
{
  const auto doc =
      util::read_json_file_if_exists(damaged_path(store), util::JsonLimit::record, "damaged objects");
  return doc && doc->is_object() && doc->contains("objects") && (*doc)["objects"].is_object()
             ? *doc
             : json{{"objects", json::object()}};
}

} // namespace

std::set<std::string> damaged_objects(const Store& store)
{
  std::set<std::string> shas;
  const json doc = read_damaged(store); // kept alive for the loop (items() refers into it)
  for (const auto& [sha, where] : doc["objects"].items()) {
    shas.insert(sha);
  }
  return shas;
}

void mark_damaged(const Store& store, const std::map<std::string, std::string>& where)
{
  if (where.empty()) {
    return;
  }
  json doc = read_damaged(store);
  for (const auto& [sha, seen] : where) {
    if (!doc["objects"].contains(sha)) {
      doc["objects"][sha] = {{"since", util::utc_now_iso8601()}, {"seen_in", seen}};
    }
  }
  util::write_file_atomic(damaged_path(store), doc.dump(2) + '\n');
}

void clear_damaged(const Store& store, const std::set<std::string>& shas)
{
  json doc = read_damaged(store);
  bool changed = false;
  for (const auto& sha : shas) {
    changed = doc["objects"].erase(sha) > 0 || changed;
  }
  if (changed) {
    util::write_file_atomic(damaged_path(store), doc.dump(2) + '\n');
  }
}

fs::path store_object(const Store& store, const fs::path& source, const std::string& sha256)
{
  const fs::path object = object_path(store, sha256);
  util::create_directories(object.parent_path());
  util::TempPath temp(util::temp_path_for(store.state_dir() / filenames::objects / "object"));
  const auto copied = util::copy_file_hashed(source, temp.path(), 0444, nullptr);
  if (copied.sha256 != sha256) {
    throw Error(ExitCode::failed, "the copy in " + source.string() + " is not intact either (SHA-256 " +
                                      copied.sha256.substr(0, 12) + ", expected " + sha256.substr(0, 12) +
                                      ")");
  }
  util::rename_durable(temp.path(), object);
  temp.commit();
  return object;
}

void relink_file(const Store& store, const fs::path& object, const fs::path& dest, std::uint32_t mode)
{
  util::TempPath temp(util::temp_path_for(store.versions_dir() / dest.filename()));
  std::atomic<bool> reflink_works{true};
  (void)link_object(object, temp.path(), configured_link_mode(store), reflink_works, mode & 07555);
  util::fsync_file(temp.path());
  const util::WritableDir writable(dest.parent_path());
  if (util::env().rename(temp.path(), dest) != 0) {
    throw_errno("cannot replace " + dest.string() + " with", temp.path());
  }
  temp.commit();
  util::fsync_dir(dest.parent_path());
}

std::size_t prune_objects(const Store& store, const std::set<std::string>& referenced)
{
  std::error_code ec;
  if (!util::is_directory(objects_dir(store))) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw sys_error("cannot read directory", objects_dir(store), ec.value());
    }
    return 0;
  }
  std::size_t removed = 0;
  for (fs::directory_iterator shard(objects_dir(store), ec), end; !ec && shard != end; shard.increment(ec)) {
    std::error_code inner;
    for (fs::directory_iterator it(shard->path(), inner); !inner && it != end; it.increment(inner)) {
      const std::string sha = shard->path().filename().string() + it->path().filename().string();
      if (referenced.count(sha) == 0) {
        util::remove_all(it->path());
        ++removed;
      }
    }
  }
  return removed;
}

} // namespace modelkeep::core
