// adapter_config.json as PEFT writes it, or anything else.
#include "core/weights/lora.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("adapter_config.json", data, size);
  fuzz::refuse_cleanly([&] { (void)core::LoraConfig::load(dir / "adapter_config.json"); });
  return 0;
}
