#include "core/tree/manifest.hpp"

#include "test_support.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

void make_tree(const fs::path& root)
{
  test::write_text(root / "adapter_config.json", "{}");
  test::write_text(root / "adapter_model.safetensors", std::string(3000, 'w'));
  test::write_text(root / "sub" / "deep" / "notes.txt", "notes");
}

} // namespace

TEST_CASE("scan_tree lists regular files in path order with sizes")
{
  test::ScratchDir dir;
  make_tree(dir / "src");
  const auto files = core::scan_tree(dir / "src");
  REQUIRE(files.size() == 3);
  CHECK(files[0].relative == "adapter_config.json");
  CHECK(files[1].relative == "adapter_model.safetensors");
  CHECK(files[1].size == 3000);
  CHECK(files[2].relative == "sub/deep/notes.txt");
  CHECK(core::total_size(files) == 3007);
}

TEST_CASE("scan_tree follows file symlinks and refuses directory symlinks and FIFOs")
{
  test::ScratchDir dir;
  make_tree(dir / "src");
  fs::create_symlink(dir / "src" / "sub" / "deep" / "notes.txt", dir / "src" / "link.txt");
  CHECK(core::scan_tree(dir / "src").size() == 4);

  fs::create_directory_symlink(dir / "src" / "sub", dir / "src" / "dirlink");
  CHECK_THROWS_WITH_AS((void)core::scan_tree(dir / "src"), doctest::Contains("symlink to a directory"),
                       Error);
  fs::remove(dir / "src" / "dirlink");

  REQUIRE(::mkfifo((dir / "src" / "fifo").c_str(), 0644) == 0);
  CHECK_THROWS_WITH_AS((void)core::scan_tree(dir / "src"), doctest::Contains("not a regular file"), Error);
}

TEST_CASE("copy_tree produces the same manifest as hashing in place")
{
  test::ScratchDir dir;
  make_tree(dir / "src");
  const auto files = core::scan_tree(dir / "src");
  const auto copied = core::copy_tree(files, dir / "dst", nullptr);
  const auto hashed = core::hash_files(files, nullptr);
  CHECK(copied.files() == hashed.files());
  CHECK(copied.digest() == hashed.digest());
  CHECK(test::read_text(dir / "dst" / "sub" / "deep" / "notes.txt") == "notes");
  CHECK(copied.find("sub/deep/notes.txt")->sha256 == util::sha256_hex("notes"));
}

TEST_CASE("check_tree reports missing, modified and extra files")
{
  test::ScratchDir dir;
  make_tree(dir / "src");
  const auto manifest = core::hash_files(core::scan_tree(dir / "src"), nullptr);
  CHECK(core::check_tree(dir / "src", manifest, nullptr).ok());

  test::write_text(dir / "src" / "adapter_model.safetensors", std::string(2999, 'w') + "x"); // same size
  fs::remove(dir / "src" / "adapter_config.json");
  test::write_text(dir / "src" / "extra.bin", "?");
  test::write_text(dir / "src" / "metadata.json", "{}");
  const auto check = core::check_tree(dir / "src", manifest, nullptr, {"metadata.json"});
  CHECK_FALSE(check.ok());
  CHECK(check.missing == std::vector<std::string>{"adapter_config.json"});
  CHECK(check.modified == std::vector<std::string>{"adapter_model.safetensors"});
  CHECK(check.extra == std::vector<std::string>{"extra.bin"});
  CHECK(check.summary() == "1 missing, 1 modified, 1 extra");
}

TEST_CASE("the digest depends on content and paths, not on modes")
{
  core::Manifest a({{"x", 1, 0644, util::sha256_hex("a")}});
  core::Manifest b({{"x", 1, 0755, util::sha256_hex("a")}});
  core::Manifest c({{"y", 1, 0644, util::sha256_hex("a")}});
  core::Manifest d({{"x", 1, 0644, util::sha256_hex("b")}});
  CHECK(a.digest() == b.digest());
  CHECK(a.digest() != c.digest());
  CHECK(a.digest() != d.digest());
}

TEST_CASE("manifest JSON round trip, subtree and prefix")
{
  const core::Manifest manifest({{"adapter/b", 2, 0600, util::sha256_hex("bb")},
                                 {"adapter/a", 1, 0644, util::sha256_hex("a")},
                                 {"evolution_snapshots/s", 3, 0644, util::sha256_hex("sss")}});
  const auto back = core::Manifest::from_json(manifest.to_json(), "test");
  CHECK(back.files() == manifest.files());
  CHECK(back.files().front().path == "adapter/a");
  const auto adapter = manifest.subtree("adapter/");
  CHECK(adapter.file_count() == 2);
  CHECK(adapter.files().front().path == "a");
  CHECK(adapter.with_prefix("adapter/").find("adapter/b") != nullptr);
  CHECK(manifest.total_size() == 6);
}

TEST_CASE("manifest JSON with unsafe or malformed entries is refused")
{
  using nlohmann::json;
  const std::string hash = util::sha256_hex("");
  const auto entry = [&](const std::string& path) {
    return json::array({{{"path", path}, {"size", 0}, {"sha256", hash}}});
  };
  CHECK_NOTHROW((void)core::Manifest::from_json(entry("a/b"), "t"));
  for (const char* bad : {"../x", "/etc/passwd", "a/../../x", ""}) {
    CHECK_THROWS_AS((void)core::Manifest::from_json(entry(bad), "t"), Error);
  }
  CHECK_THROWS_AS((void)core::Manifest::from_json(json::object(), "t"), Error);
  CHECK_THROWS_AS(
      (void)core::Manifest::from_json(json::array({{{"path", "a"}, {"size", -1}, {"sha256", hash}}}), "t"),
      Error);
  CHECK_THROWS_AS(
      (void)core::Manifest::from_json(json::array({{{"path", "a"}, {"size", 0}, {"sha256", "zz"}}}), "t"),
      Error);
  auto twice = entry("a");
  twice.push_back(twice[0]);
  CHECK_THROWS_WITH_AS((void)core::Manifest::from_json(twice, "t"), doctest::Contains("duplicate"), Error);
}
