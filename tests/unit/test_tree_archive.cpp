#include "core/tree/archive.hpp"

#include "test_support.hpp"
#include "util/error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

/// Writes a tar with one entry of the given name and type (libarchive, as an attacker would).
void write_hostile_tar(const fs::path& path, const char* name, unsigned type,
                       const char* link_target = nullptr)
{
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, name);
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, type == AE_IFREG ? 2 : 0);
  if (link_target != nullptr) {
    archive_entry_set_symlink(entry, link_target);
  }
  REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
  if (type == AE_IFREG) {
    archive_write_data(a, "x\n", 2);
  }
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
}

} // namespace

TEST_CASE("an archive round trip keeps names, contents and modes")
{
  test::ScratchDir dir;
  test::write_text(dir / "src" / "a.bin", std::string(3 << 20, 'a'));
  test::write_text(dir / "src" / "sub" / "b.txt", "bee");
  fs::permissions(dir / "src" / "sub" / "b.txt", fs::perms(0600));
  const auto files = core::scan_tree(dir / "src");
  for (const auto compression : {core::Compression::none, core::Compression::zstd}) {
    const fs::path archive = dir / (compression == core::Compression::zstd ? "d.tar.zst" : "d.tar");
    const auto manifest = core::write_archive(files, archive, compression, 3, nullptr);
    CHECK(manifest.digest() == core::hash_files(files, nullptr).digest());
    CHECK(core::check_archive(archive, manifest, core::Hashing::yes, nullptr).ok());
    const fs::path out = dir / ("out-" + archive.filename().string());
    const auto extracted = core::extract_archive(archive, out, nullptr);
    CHECK(extracted.files() == manifest.files());
    CHECK(test::read_text(out / "sub" / "b.txt") == "bee");
    CHECK((fs::status(out / "sub" / "b.txt").permissions() & fs::perms::all) == fs::perms(0600));
  }
}

TEST_CASE("check_archive reports what differs from the manifest")
{
  test::ScratchDir dir;
  test::write_text(dir / "src" / "a", "aaa");
  test::write_text(dir / "src" / "b", "bbb");
  const auto manifest =
      core::write_archive(core::scan_tree(dir / "src"), dir / "d.tar", core::Compression::none, 0, nullptr);
  const core::Manifest expected({{"a", 3, 0644, manifest.files()[0].sha256},
                                 {"b", 3, 0644, manifest.files()[0].sha256},
                                 {"c", 1, 0644, manifest.files()[0].sha256}});
  const auto check = core::check_archive(dir / "d.tar", expected, core::Hashing::yes, nullptr);
  CHECK(check.modified == std::vector<std::string>{"b"});
  CHECK(check.missing == std::vector<std::string>{"c"});
  CHECK(check.files_found == 2);
  CHECK(core::check_archive(dir / "d.tar", expected, core::Hashing::no, nullptr).modified.empty());
}

TEST_CASE("extraction refuses '..', absolute names and links, writing nothing outside")
{
  test::ScratchDir dir;
  struct Case {
    const char* name;
    unsigned type;
    const char* link;
  };
  for (const Case& bad :
       {Case{"../escaped", AE_IFREG, nullptr}, Case{"/tmp/modelkeep-absolute", AE_IFREG, nullptr},
        Case{"link", AE_IFLNK, "/etc"}, Case{"a/../../escaped", AE_IFREG, nullptr}}) {
    CAPTURE(bad.name);
    write_hostile_tar(dir / "evil.tar", bad.name, bad.type, bad.link);
    CHECK_THROWS_WITH_AS((void)core::extract_archive(dir / "evil.tar", dir / "out" / "dest", nullptr),
                         doctest::Contains("refusing to extract"), Error);
    CHECK_FALSE(fs::exists(dir / "out" / "escaped"));
    CHECK_FALSE(fs::exists(dir / "escaped"));
    CHECK_FALSE(fs::exists("/tmp/modelkeep-absolute"));
    CHECK_FALSE(fs::exists(fs::symlink_status(dir / "out" / "dest" / "link")));
    const auto check = core::check_archive(dir / "evil.tar", core::Manifest(), core::Hashing::yes, nullptr);
    CHECK_FALSE(check.other.empty());
    fs::remove_all(dir / "out");
  }
}

TEST_CASE("a file that is not an archive is malformed input")
{
  test::ScratchDir dir;
  test::write_text(dir / "junk.tar.zst", std::string(5000, 'j'));
  try {
    (void)core::extract_archive(dir / "junk.tar.zst", dir / "out", nullptr);
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::malformed);
  }
}
