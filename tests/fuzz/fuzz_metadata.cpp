// A version's metadata.json and a backup's backup.json: the store's own records, which a
// damaged disk or a careless edit can turn into anything.
#include "core/backup/backup.hpp"
#include "core/versions/version.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("metadata.json", data, size);
  fuzz::refuse_cleanly([&] { (void)core::load_metadata(dir); });
  std::filesystem::rename(dir / "metadata.json", dir / "backup.json");
  fuzz::refuse_cleanly([&] { (void)core::load_backup(dir); });
  return 0;
}
