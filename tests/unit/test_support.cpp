#include "test_support.hpp"

#include "core/stages/promotion.hpp"
#include "core/versions/recovery.hpp"
#include "core/versions/version_ops.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace modelkeep::test {

ScratchDir::ScratchDir()
{
  std::string pattern = (std::filesystem::temp_directory_path() / "modelkeep-unit-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = pattern;
}

ScratchDir::~ScratchDir()
{
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

void write_text(const std::filesystem::path& path, std::string_view content)
{
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::vector<std::filesystem::path> direct_io_places(const ScratchDir& dir)
{
  std::vector<std::filesystem::path> places = {dir.path()};
  if (std::filesystem::is_directory("/dev/shm")) {
    places.emplace_back("/dev/shm");
  }
  return places;
}

std::string read_text(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string ScratchStore::add_version(const std::string& content)
{
  write_text(dir / "adapter-src" / "adapter_model.safetensors", content);
  core::CreateRequest request;
  request.adapter = dir / "adapter-src";
  request.description = content;
  request.allow_duplicate = true;
  const auto lock = core::lock_for_writing(store, "test", std::chrono::seconds(5));
  (void)core::create_version(store, request, "test", false);
  return core::list_versions(store).back().name;
}

void ScratchStore::promote(const std::string& name, const std::string& stage)
{
  const auto lock = core::lock_for_writing(store, "test", std::chrono::seconds(5));
  (void)core::move_stage(store, stage, core::resolve_version(store, core::VersionRef::parse(name)),
                         core::EventKind::promote, "test");
}

} // namespace modelkeep::test
