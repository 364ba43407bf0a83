#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace modelkeep::util {

class Progress;

/// Whether to drop a written file from the page cache after fsync, so that a later
/// verification reads it back from the device instead of from memory.
enum class DropCache { no, yes };

/// What copy_file_hashed read and wrote.
struct CopiedFile {
  std::string sha256; ///< of the bytes read from the source, which are the bytes written
  std::uint64_t size = 0;
};

/// Copies `source` to the new file `dest` (created with O_EXCL and `mode`) in one pass:
/// every block read is hashed and written, then the file is fsynced. Throws if the source
/// changes size or modification time while it is copied.
[[nodiscard]] CopiedFile copy_file_hashed(const std::filesystem::path& source,
                                          const std::filesystem::path& dest, unsigned mode,
                                          Progress* progress, DropCache drop_cache = DropCache::no);

} // namespace modelkeep::util
