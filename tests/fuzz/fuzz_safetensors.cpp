// The safetensors header parser and tensor bounds: a model file is untrusted input.
#include "core/weights/safetensors.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const auto dir = fuzz::place("model.safetensors", data, size);
  fuzz::refuse_cleanly([&] {
    const auto file = core::SafetensorsFile::open(dir / "model.safetensors");
    for (const auto& tensor : file.tensors()) {
      const auto bytes = file.data(tensor);
      volatile std::byte sink{};
      if (!bytes.empty()) {
        sink = bytes.front();
        sink = bytes.back();
      }
      (void)sink;
    }
  });
  return 0;
}
