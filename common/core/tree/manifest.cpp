#include "core/tree/manifest.hpp"

#include "util/error.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/parallel.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace modelkeep::core {

using nlohmann::json;

Manifest::Manifest(std::vector<FileEntry> files) : m_files(std::move(files))
{
  std::sort(m_files.begin(), m_files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
}

std::uint64_t Manifest::total_size() const noexcept
{
  std::uint64_t total = 0;
  for (const auto& file : m_files) {
    total += file.size;
  }
  return total;
}

std::string Manifest::digest() const
{
  util::Sha256 hasher;
  for (const auto& file : m_files) {
    hasher.update(file.sha256 + ' ' + std::to_string(file.size) + ' ' + file.path + '\n');
  }
  return hasher.hex_final();
}

const FileEntry* Manifest::find(std::string_view path) const
{
  const auto it = std::lower_bound(m_files.begin(), m_files.end(), path,
                                   [](const FileEntry& e, std::string_view p) { return e.path < p; });
  return it != m_files.end() && it->path == path ? &*it : nullptr;
}

Manifest Manifest::subtree(std::string_view prefix) const
{
  std::vector<FileEntry> files;
  for (const auto& file : m_files) {
    if (file.path.size() > prefix.size() && file.path.compare(0, prefix.size(), prefix) == 0) {
      FileEntry entry = file;
      entry.path.erase(0, prefix.size());
      files.push_back(std::move(entry));
    }
  }
  return Manifest(std::move(files));
}

Manifest Manifest::with_prefix(std::string_view prefix) const
{
  std::vector<FileEntry> files = m_files;
  for (auto& file : files) {
    file.path.insert(0, prefix);
  }
  return Manifest(std::move(files));
}

void Manifest::merge(const Manifest& other)
{
  std::vector<FileEntry> files = m_files;
  files.insert(files.end(), other.m_files.begin(), other.m_files.end());
  *this = Manifest(std::move(files));
}

json Manifest::to_json() const
{
  json array = json::array();
  for (const auto& file : m_files) {
    array.push_back({{"path", file.path}, {"size", file.size}, {"mode", file.mode}, {"sha256", file.sha256}});
  }
  return array;
}

namespace {

[[noreturn]] void malformed(const fs::path& origin, const std::string& cause)
{
  throw Error(ExitCode::malformed, "malformed manifest in " + origin.string() + ": " + cause);
}

bool is_count(const json& value)
{
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

bool is_safe_relative(const std::string& path)
{
  if (path.empty() || path.front() == '/') {
    return false;
  }
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") {
      return false;
    }
  }
  return true;
}

} // namespace

Manifest Manifest::from_json(const json& array, const fs::path& origin)
{
  if (!array.is_array()) {
    malformed(origin, "files is not an array");
  }
  std::vector<FileEntry> files;
  files.reserve(array.size());
  for (const auto& item : array) {
    if (!item.is_object() || !item.contains("path") || !item["path"].is_string() || !item.contains("size") ||
        !is_count(item["size"]) || !item.contains("sha256") || !item["sha256"].is_string()) {
      malformed(origin, "entry without path, size and sha256: " + item.dump());
    }
    FileEntry entry;
    entry.path = item["path"].get<std::string>();
    entry.size = item["size"].get<std::uint64_t>();
    entry.sha256 = item["sha256"].get<std::string>();
    entry.mode = item.contains("mode") && is_count(item["mode"]) ? item["mode"].get<std::uint32_t>() : 0644;
    if (!is_safe_relative(entry.path)) {
      malformed(origin, "unsafe path '" + entry.path + "'");
    }
    if (!util::is_sha256_hex(entry.sha256)) {
      malformed(origin, "bad sha256 for '" + entry.path + "'");
    }
    files.push_back(std::move(entry));
  }
  Manifest manifest(std::move(files));
  for (std::size_t i = 1; i < manifest.m_files.size(); ++i) {
    if (manifest.m_files[i].path == manifest.m_files[i - 1].path) {
      malformed(origin, "duplicate path '" + manifest.m_files[i].path + "'");
    }
  }
  return manifest;
}

namespace {

/// Calls visit(iterator) for every entry under `root` (not following directory symlinks);
/// visit may call disable_recursion_pending(). Throws if a directory cannot be read.
template <typename Visit> void walk_tree(const fs::path& root, Visit&& visit)
{
  std::error_code ec;
  fs::recursive_directory_iterator it(root, ec);
  const fs::recursive_directory_iterator end;
  if (ec) {
    throw sys_error("cannot read directory", root, ec.value());
  }
  while (it != end) {
    // An increment fails when it descends into the entry just visited, so name that one.
    const fs::path current = it->path();
    visit(it);
    it.increment(ec);
    if (ec) {
      throw sys_error("cannot read directory", current, ec.value());
    }
  }
}

/// The SourceFile for one entry of a scan, or nullopt for a directory; refuses what
/// cannot be versioned.
std::optional<SourceFile> source_file(const fs::path& root, const fs::path& path, Symlinks symlinks)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw_errno("cannot stat", path);
  }
  if (S_ISLNK(st.st_mode)) {
    if (::stat(path.c_str(), &st) != 0) {
      throw Error(ExitCode::malformed, "broken symlink " + path.string() + ": " + errno_text(errno));
    }
    if (symlinks == Symlinks::inside_only) {
      std::error_code ec;
      const fs::path target = fs::canonical(path, ec);
      const fs::path top = fs::canonical(root, ec);
      const auto rel = target.lexically_relative(top);
      if (ec || rel.empty() || *rel.begin() == "..") {
        throw Error(ExitCode::malformed, "symlink pointing outside the directory refused " + path.string() +
                                             " -> " + target.string() + ": copy the file in instead");
      }
    }
    if (S_ISDIR(st.st_mode)) {
      throw Error(ExitCode::malformed,
                  "symlink to a directory is not supported " + path.string() + ": copy or remove it first");
    }
  }
  if (S_ISDIR(st.st_mode)) {
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(ExitCode::malformed,
                "not a regular file " + path.string() + ": sockets, devices and FIFOs cannot be versioned");
  }
  std::string relative = path.lexically_relative(root).generic_string();
  if (!util::is_utf8(relative)) {
    // Manifests are JSON, which holds UTF-8 only; an escaped name would not be the file's name.
    throw Error(ExitCode::malformed, "file name is not valid UTF-8: " + util::printable(path.string(), 200) +
                                         ": rename it (for example with convmv) and try again");
  }
  return SourceFile{std::move(relative), path, static_cast<std::uint64_t>(st.st_size),
                    static_cast<std::uint32_t>(st.st_mode & 07777)};
}

} // namespace

std::vector<SourceFile> scan_tree(const fs::path& root, Symlinks symlinks)
{
  std::vector<SourceFile> files;
  walk_tree(root, [&](const fs::recursive_directory_iterator& it) {
    if (auto file = source_file(root, it->path(), symlinks)) {
      files.push_back(std::move(*file));
    }
  });
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.relative < b.relative; });
  return files;
}

std::vector<SourceFile> scan_input(const fs::path& dir, std::string_view what)
{
  auto files = scan_tree(dir, Symlinks::inside_only);
  if (files.empty()) {
    throw Error(ExitCode::malformed, std::string(what) + " holds no files " + dir.string());
  }
  const auto has = [&](std::string_view name) {
    return std::any_of(files.begin(), files.end(), [&](const SourceFile& file) { return file.relative == name; });
  };
  if (has("adapter_config.json") && !has("adapter_model.safetensors") && !has("adapter_model.bin")) {
    throw Error(ExitCode::malformed,
                "adapter without weights " + dir.string() +
                    ": adapter_config.json but no adapter_model.safetensors or adapter_model.bin");
  }
  return files;
}

std::vector<std::size_t> largest_first(const std::vector<SourceFile>& files)
{
  std::vector<std::size_t> order(files.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return files[a].size > files[b].size; });
  return order;
}

std::uint64_t total_size(const std::vector<SourceFile>& files)
{
  std::uint64_t total = 0;
  for (const auto& file : files) {
    total += file.size;
  }
  return total;
}

namespace {

/// Every directory between `root` (inclusive) and the files, deepest first.
std::vector<fs::path> directories_of(const std::vector<SourceFile>& files, const fs::path& root)
{
  std::set<fs::path> dirs{root};
  for (const auto& file : files) {
    for (fs::path dir = (root / file.relative).parent_path(); dir != root && dirs.insert(dir).second;
         dir = dir.parent_path()) {
    }
  }
  std::vector<fs::path> ordered(dirs.begin(), dirs.end());
  std::sort(ordered.begin(), ordered.end(), [](const fs::path& a, const fs::path& b) {
    return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
  });
  return ordered;
}

} // namespace

Manifest copy_tree(const std::vector<SourceFile>& files, const fs::path& dest_root, util::Progress* progress,
                   util::DropCache drop_cache)
{
  const auto dirs = directories_of(files, dest_root);
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    util::create_directories(*it);
  }
  std::vector<FileEntry> entries(files.size());
  const auto order = largest_first(files);
  util::parallel_for(order.size(), util::worker_threads(order.size()), [&](std::size_t k) {
    const std::size_t i = order[k];
    const auto& file = files[i];
    const auto copied =
        util::copy_file_hashed(file.absolute, dest_root / file.relative, file.mode, progress, drop_cache);
    entries[i] = {file.relative, copied.size, file.mode, copied.sha256};
  });
  for (const auto& dir : dirs) {
    util::fsync_dir(dir);
  }
  return Manifest(std::move(entries));
}

Manifest hash_files(const std::vector<SourceFile>& files, util::Progress* progress)
{
  std::vector<FileEntry> entries(files.size());
  const auto order = largest_first(files);
  util::parallel_for(order.size(), util::worker_threads(order.size()), [&](std::size_t k) {
    const std::size_t i = order[k];
    const auto& file = files[i];
    entries[i] = {file.relative, file.size, file.mode, util::sha256_file(file.absolute, progress)};
  });
  return Manifest(std::move(entries));
}

std::string TreeCheck::summary() const
{
  return std::to_string(missing.size()) + " missing, " + std::to_string(modified.size()) + " modified, " +
         std::to_string(extra.size()) + " extra";
}

namespace {

/// Regular files under `root` by relative path; anything else that is not a directory
/// (symlink, FIFO, ...) is mapped to size -1 so that it counts as modified or extra.
std::map<std::string, std::int64_t> files_on_disk(const fs::path& root, const std::set<std::string>& ignore)
{
  std::map<std::string, std::int64_t> found;
  walk_tree(root, [&](fs::recursive_directory_iterator& it) {
    const std::string relative = it->path().lexically_relative(root).generic_string();
    if (it.depth() == 0 && ignore.count(relative) != 0) {
      if (it->is_directory()) {
        it.disable_recursion_pending();
      }
      return;
    }
    struct stat st {};
    const bool readable = ::lstat(it->path().c_str(), &st) == 0;
    if (!(readable && S_ISDIR(st.st_mode))) {
      found[relative] = readable && S_ISREG(st.st_mode) ? st.st_size : -1;
    }
  });
  return found;
}

} // namespace

TreeCheck check_tree(const fs::path& root, const Manifest& manifest, util::Progress* progress,
                     const std::set<std::string>& ignore, Hashing hashing, util::ReadFrom from)
{
  TreeCheck check;
  auto on_disk = files_on_disk(root, ignore);
  for (const auto& [path, size] : on_disk) {
    check.files_found += 1;
    check.bytes_found += size > 0 ? static_cast<std::uint64_t>(size) : 0;
  }
  std::vector<const FileEntry*> to_hash;
  for (const auto& entry : manifest.files()) {
    const auto it = on_disk.find(entry.path);
    if (it == on_disk.end()) {
      check.missing.push_back(entry.path);
      continue;
    }
    if (it->second < 0 || static_cast<std::uint64_t>(it->second) != entry.size) {
      check.modified.push_back(entry.path);
      check.resized.push_back(entry.path);
    } else if (hashing == Hashing::yes) {
      to_hash.push_back(&entry);
    }
    on_disk.erase(it);
  }
  for (const auto& [path, size] : on_disk) {
    check.extra.push_back(path);
  }
  std::mutex result_mutex;
  util::parallel_for(to_hash.size(), util::worker_threads(to_hash.size()), [&](std::size_t i) {
    const FileEntry& entry = *to_hash[i];
    std::string actual;
    try {
      actual = util::sha256_file(root / entry.path, progress, from);
    } catch (const Error& error) {
      actual = std::string("unreadable: ") + error.what();
    }
    const std::lock_guard lock(result_mutex);
    if (actual != entry.sha256) {
      check.modified.push_back(entry.path);
    }
  });
  std::sort(check.modified.begin(), check.modified.end());
  return check;
}

} // namespace modelkeep::core
