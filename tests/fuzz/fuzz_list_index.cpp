// A model's versions/index.json, the cache `list` reads instead of every metadata.json: a
// damaged disk or a hand edit can turn it into anything, and list must still show every version
// (from its metadata when the entry is unusable) without crashing.
#include "core/layout/store.hpp"
#include "core/versions/list_index.hpp"
#include "fuzz_support.hpp"

#include <fstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("index.json", data, size);
  const core::Store store(dir / "root");
  std::filesystem::create_directories(store.versions_dir());
  std::filesystem::rename(dir / "index.json", store.versions_dir() / "index.json");
  // One version whose metadata is readable, named as the seeds' entry.
  core::VersionMetadata meta;
  meta.number = 1;
  meta.id = "v001";
  meta.name = "v001_20251116_143000_run";
  meta.created_at = "2025-11-16T14:30:00Z";
  meta.description = "from the metadata";
  std::filesystem::create_directories(store.versions_dir() / meta.name);
  std::ofstream(store.versions_dir() / meta.name / "metadata.json") << meta.to_json().dump();
  fuzz::refuse_cleanly([&] {
    const auto listed = core::list_summaries(store);
    if (listed.size() != 1 || !listed.front().summary) {
      __builtin_trap(); // the version must be listed whatever the index holds
    }
  });
  fuzz::refuse_cleanly([&] { (void)core::build_index(store); });
  return 0;
}
