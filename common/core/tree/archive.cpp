#include "core/tree/archive.hpp"

#include "util/async_hash.hpp"
#include "util/device_reader.hpp"
#include "util/direct_writer.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/failpoint.hpp"
#include "util/file.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"
#include "util/progress.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <clocale>
#include <fcntl.h>
#include <locale.h>
#include <map>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace modelkeep::core {

namespace {

struct WriterDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct ReaderDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using Writer = std::unique_ptr<archive, WriterDeleter>;
using Reader = std::unique_ptr<archive, ReaderDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

/// Makes this thread's character set UTF-8 while libarchive runs: it converts names through
/// the locale's charset (the tools never call setlocale, so that is ASCII, where any non-ASCII
/// name fails or, in the pax writer, crashes), and archive names are UTF-8 by the input policy.
class Utf8Names {
public:
  Utf8Names() : m_previous(::uselocale(utf8_locale())) {}
  Utf8Names(const Utf8Names&) = delete;
  Utf8Names& operator=(const Utf8Names&) = delete;
  ~Utf8Names() { ::uselocale(m_previous); }

private:
  static locale_t utf8_locale()
  {
    static const locale_t utf8 = [] {
      locale_t made = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
      // Without C.UTF-8 (not a glibc system) names stay ASCII-only, as before.
      return made != static_cast<locale_t>(nullptr) ? made : LC_GLOBAL_LOCALE;
    }();
    return utf8;
  }
  locale_t m_previous;
};

[[noreturn]] void archive_failure(archive* a, const char* what, const fs::path& path, ExitCode code)
{
  const char* text = archive_error_string(a);
  throw Error(code, std::string(what) + " " + path.string() + ": " +
                        (text != nullptr ? text : "unknown libarchive error"));
}

/// libarchive's output goes through a SequentialWriter (O_DIRECT where possible): the archive
/// bypasses the page cache, so the read-back that follows comes from the device.
la_ssize_t write_to_sink(archive* a, void* client, const void* data, std::size_t size)
{
  try {
    static_cast<util::SequentialWriter*>(client)->write({static_cast<const std::byte*>(data), size});
    return static_cast<la_ssize_t>(size);
  } catch (const Error& e) {
    archive_set_error(a, EIO, "%s", e.what());
    return -1;
  }
}

Writer open_writer(util::SequentialWriter& sink, const fs::path& path, Compression compression, int level)
{
  Writer writer(archive_write_new());
  archive* a = writer.get();
  if (a == nullptr || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK) {
    throw Error(ExitCode::failed, "cannot set up the archive writer for " + path.string());
  }
  if (compression == Compression::zstd) {
    const std::string level_text = std::to_string(level);
    if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "zstd", "compression-level", level_text.c_str()) != ARCHIVE_OK) {
      archive_failure(a, "cannot set up zstd compression for", path, ExitCode::failed);
    }
    // zstd compresses on worker threads while this thread reads and hashes; an older
    // libarchive without the option simply compresses on one thread.
    const std::string threads = std::to_string(util::worker_threads(64));
    (void)archive_write_set_filter_option(a, "zstd", "threads", threads.c_str());
  }
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open2(a, &sink, nullptr, write_to_sink, nullptr, nullptr) != ARCHIVE_OK) {
    archive_failure(a, "cannot write archive", path, ExitCode::failed);
  }
  return writer;
}

/// Streams one source file into the archive, hashing what it reads.
FileEntry add_file(archive* a, const SourceFile& file, const fs::path& archive_path,
                   util::AsyncHasher& hasher, util::Progress* progress)
{
  util::UniqueFd in = util::open_for_reading(file.absolute);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) {
    throw_errno("cannot stat", file.absolute);
  }
  Entry entry(archive_entry_new());
  // Names are UTF-8 whatever the locale (tools never call setlocale, so it is "C", where
  // libarchive's conversion from the locale's charset fails on any non-ASCII name).
  archive_entry_set_pathname_utf8(entry.get(), file.relative.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), file.mode);
  archive_entry_set_size(entry.get(), st.st_size);
  archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
    archive_failure(a, "cannot write archive", archive_path, ExitCode::failed);
  }
  // The hash is computed on the hasher's thread while this one reads and compresses.
  std::uint64_t size = 0;
  for (;;) {
    std::vector<char>& buffer = hasher.acquire();
    const std::size_t n = util::read_some(in.get(), buffer.data(), buffer.size(), file.absolute);
    if (n == 0) {
      hasher.submit(buffer, 0);
      break;
    }
    hasher.submit(buffer, n);
    if (archive_write_data(a, buffer.data(), n) != static_cast<la_ssize_t>(n)) {
      archive_failure(a, "cannot write archive", archive_path, ExitCode::failed);
    }
    size += n;
    if (progress != nullptr) {
      progress->add(n);
    }
    util::failpoint("copy.after_block");
  }
  const std::string sha256 = hasher.finish();
  if (size != static_cast<std::uint64_t>(st.st_size)) {
    throw Error(ExitCode::failed, "source changed while it was copied " + file.absolute.string() +
                                      ": stop the writer and try again");
  }
  return {file.relative, size, file.mode, sha256};
}

/// An archive read back from the device (util::DeviceReader: O_DIRECT where possible, the next
/// 16 MiB read while libarchive decompresses the last), never from the page cache that could
/// still hold what was just written.
struct ArchiveSource {
  std::unique_ptr<util::DeviceReader> device; // outlives the reader, which is freed first
  Reader reader;
};

la_ssize_t read_from_device(archive* a, void* client, const void** buffer)
{
  try {
    const auto block = static_cast<util::DeviceReader*>(client)->next();
    *buffer = block.data();
    return static_cast<la_ssize_t>(block.size());
  } catch (const Error& e) {
    archive_set_error(a, EIO, "%s", e.what());
    return -1;
  }
}

ArchiveSource open_reader(const fs::path& path)
{
  ArchiveSource source{std::make_unique<util::DeviceReader>(path), Reader(archive_read_new())};
  archive* a = source.reader.get();
  if (a == nullptr) {
    throw Error(ExitCode::failed, "cannot set up the archive reader for " + path.string());
  }
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_none(a);
  archive_read_support_format_tar(a);
  if (archive_read_open(a, source.device.get(), nullptr, read_from_device, nullptr) != ARCHIVE_OK) {
    archive_failure(a, "cannot open archive", path, ExitCode::malformed);
  }
  return source;
}

/// Why an entry name or type is unsafe to extract, or "" if it is a safe regular file or
/// directory name.
std::string unsafe_reason(const std::string& name, unsigned type)
{
  if (type != AE_IFREG && type != AE_IFDIR) {
    return "unsupported entry type (links and special files are refused): " + name;
  }
  if (name.empty() || name.front() == '/') {
    return "absolute or empty path refused: " + name;
  }
  for (const auto& part : fs::path(name)) {
    if (part == "..") {
      return "path with '..' refused: " + name;
    }
  }
  return {};
}

/// Calls visit(name, size, sink) for every regular file entry; `read_data` streams the entry's
/// bytes to a callback. Unsafe entries go to `on_unsafe`.
template <typename OnFile, typename OnUnsafe>
void for_each_entry(const fs::path& path, OnFile&& on_file, OnUnsafe&& on_unsafe)
{
  const ArchiveSource source = open_reader(path);
  archive* a = source.reader.get();
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(a, &entry);
    if (status == ARCHIVE_EOF) {
      return;
    }
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      archive_failure(a, "bad archive", path, ExitCode::malformed);
    }
    const char* raw_name = archive_entry_pathname_utf8(entry);
    if (raw_name == nullptr) {
      raw_name = archive_entry_pathname(entry); // a name in no known charset: judged as bytes
    }
    std::string name = raw_name != nullptr ? raw_name : "";
    while (name.size() > 1 && name.back() == '/') {
      name.pop_back();
    }
    const unsigned type = archive_entry_filetype(entry);
    if (const std::string reason = unsafe_reason(name, type); !reason.empty()) {
      on_unsafe(reason);
      continue;
    }
    if (type == AE_IFREG) {
      auto read_data = [&](auto&& sink) {
        std::vector<char> buffer(util::k_io_block);
        for (;;) {
          const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
          if (n < 0) {
            archive_failure(a, "bad archive", path, ExitCode::malformed);
          }
          if (n == 0) {
            return;
          }
          sink(buffer.data(), static_cast<std::size_t>(n));
        }
      };
      // The same, into buffers handed to a hasher thread: read and decompress here, hash there.
      auto hash_data = [&](util::AsyncHasher& hasher, auto&& on_block) {
        for (;;) {
          std::vector<char>& buffer = hasher.acquire();
          const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
          if (n < 0) {
            hasher.submit(buffer, 0);
            (void)hasher.finish();
            archive_failure(a, "bad archive", path, ExitCode::malformed);
          }
          hasher.submit(buffer, static_cast<std::size_t>(n));
          if (n == 0) {
            return hasher.finish();
          }
          on_block(static_cast<std::size_t>(n));
        }
      };
      on_file(name, static_cast<std::uint64_t>(archive_entry_size(entry)),
              static_cast<std::uint32_t>(archive_entry_perm(entry)), read_data, hash_data);
    }
  }
}

} // namespace

Manifest write_archive(const std::vector<SourceFile>& files, const fs::path& archive_path,
                       Compression compression, int level, util::Progress* progress)
{
  const Utf8Names names;
  util::SequentialWriter sink(archive_path, 0644);
  std::vector<FileEntry> entries;
  entries.reserve(files.size());
  {
    Writer writer = open_writer(sink, archive_path, compression, level);
    util::AsyncHasher hasher;
    for (const auto& file : files) {
      entries.push_back(add_file(writer.get(), file, archive_path, hasher, progress));
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK) {
      archive_failure(writer.get(), "cannot finish archive", archive_path, ExitCode::failed);
    }
  }
  sink.finish(true); // what went through the page cache after all is dropped from it
  return Manifest(std::move(entries));
}

TreeCheck check_archive(const fs::path& archive_path, const Manifest& manifest, Hashing hashing,
                        util::Progress* progress)
{
  const Utf8Names names;
  TreeCheck check;
  util::AsyncHasher hasher;
  std::map<std::string, bool> seen;
  for (const auto& entry : manifest.files()) {
    seen[entry.path] = false;
  }
  for_each_entry(
      archive_path,
      [&](const std::string& name, std::uint64_t size, std::uint32_t, auto&&, auto&& hash_data) {
        check.files_found += 1;
        check.bytes_found += size;
        const FileEntry* expected = manifest.find(name);
        if (expected == nullptr || seen[name]) {
          check.extra.push_back(name);
          return;
        }
        seen[name] = true;
        if (expected->size != size) {
          check.modified.push_back(name);
          check.resized.push_back(name);
          return;
        }
        if (hashing == Hashing::yes) {
          const std::string sha256 = hash_data(hasher, [&](std::size_t n) {
            if (progress != nullptr) {
              progress->add(n);
            }
          });
          if (sha256 != expected->sha256) {
            check.modified.push_back(name);
          }
        }
      },
      [&](const std::string& reason) { check.other.push_back(reason); });
  for (const auto& [name, found] : seen) {
    if (!found) {
      check.missing.push_back(name);
    }
  }
  return check;
}

Manifest extract_archive(const fs::path& archive_path, const fs::path& dest, util::Progress* progress)
{
  const Utf8Names names;
  util::create_directories(dest);
  std::vector<FileEntry> entries;
  std::set<fs::path> dirs{dest};
  for_each_entry(
      archive_path,
      [&](const std::string& name, std::uint64_t, std::uint32_t mode, auto&& read_data, auto&&) {
        const fs::path target = dest / name;
        util::create_directories(target.parent_path());
        dirs.insert(target.parent_path());
        const int raw = util::env().open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (raw < 0) {
          throw_errno("cannot create", target);
        }
        util::UniqueFd out(raw);
        util::Sha256 hasher;
        std::uint64_t size = 0;
        read_data([&](const char* data, std::size_t n) {
          hasher.update(data, n);
          util::write_all(out.get(), std::string_view(data, n), target);
          size += n;
          if (progress != nullptr) {
            progress->add(n);
          }
        });
        if (util::env().fchmod(out.get(), mode & 07777) != 0) {
          throw_errno("cannot set mode of", target);
        }
        util::fsync_fd(out.get(), target);
        out.close(target);
        entries.push_back({name, size, mode & 07777, hasher.hex_final()});
      },
      [&](const std::string& reason) {
        throw Error(ExitCode::malformed, "refusing to extract from " + archive_path.string() + ": " + reason);
      });
  for (const auto& dir : dirs) {
    util::fsync_dir(dir);
  }
  return Manifest(std::move(entries));
}

} // namespace modelkeep::core
