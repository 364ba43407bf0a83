// Listing, checking and extracting a backup archive: extraction must never write outside
// its target, whatever the archive says.
#include "core/tree/archive.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("data.tar.zst", data, size);
  fuzz::refuse_cleanly([&] {
    (void)core::check_archive(dir / "data.tar.zst", core::Manifest(), core::Hashing::yes, nullptr);
  });
  fuzz::refuse_cleanly([&] { (void)core::extract_archive(dir / "data.tar.zst", dir / "out", nullptr); });
  // Nothing may have been written beside the target.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename();
    if (name != "data.tar.zst" && name != "out") {
      __builtin_trap();
    }
  }
  return 0;
}
