// A sharded model's model.safetensors.index.json (and config.json beside it).
#include "core/weights/base_model.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("model.safetensors.index.json", data, size);
  std::filesystem::copy_file(dir / "model.safetensors.index.json", dir / "config.json");
  fuzz::refuse_cleanly([&] { (void)core::BaseModel::open(dir); });
  return 0;
}
