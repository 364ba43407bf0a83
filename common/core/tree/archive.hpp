#pragma once

#include "core/tree/manifest.hpp"

#include <filesystem>
#include <vector>

namespace modelkeep::util {
class Progress;
}

namespace modelkeep::core {

/// How an archive's data is compressed.
enum class Compression { none, zstd };

/// Writes `files` into a new tar archive at `archive` (POSIX pax, regular files only, path
/// order), compressed with zstd at `level` if asked, hashing every byte on the way; fsyncs
/// it and returns the manifest of what went in.
[[nodiscard]] Manifest write_archive(const std::vector<SourceFile>& files, const fs::path& archive,
                                     Compression compression, int level, util::Progress* progress);

/// Reads an archive back through libarchive and compares its entries with `manifest` (count,
/// sizes and, with Hashing::yes, SHA-256). Entries that are not regular files or directories,
/// and unsafe names (absolute, "..") are reported in `TreeCheck::other`.
[[nodiscard]] TreeCheck check_archive(const fs::path& archive, const Manifest& manifest, Hashing hashing,
                                      util::Progress* progress);

/// Extracts the regular files of an archive into the new directory `dest`, refusing (Error
/// malformed) absolute names, "..", links and special files before anything is written
/// for them; every file is created with O_EXCL|O_NOFOLLOW and fsynced. Returns what was written.
[[nodiscard]] Manifest extract_archive(const fs::path& archive, const fs::path& dest,
                                       util::Progress* progress);

} // namespace modelkeep::core
