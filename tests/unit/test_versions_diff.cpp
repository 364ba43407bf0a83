#include "core/versions/diff.hpp"

#include "core/layout/store.hpp"
#include "core/versions/version_ops.hpp"
#include "core/weights/numeric.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace modelkeep;
namespace fs = std::filesystem;

namespace {

void write_model(const fs::path& path, const std::vector<std::pair<core::TensorSpec, float>>& tensors)
{
  std::vector<core::TensorSpec> specs;
  for (const auto& [spec, value] : tensors) {
    specs.push_back(spec);
  }
  fs::create_directories(path.parent_path());
  core::SafetensorsWriter writer(path, specs, {});
  for (const auto& [spec, value] : tensors) {
    std::uint64_t n = 1;
    for (const auto d : spec.shape) {
      n *= d;
    }
    // Not all equal, so that the norms are not trivial.
    std::vector<float> values{value * 2};
    values.resize(n, value);
    std::vector<std::byte> bytes(n * 4);
    core::from_float(values, core::DType::F32, bytes);
    writer.write(bytes);
  }
  writer.finish();
}

} // namespace

TEST_CASE("diff of two tiny models: a removed tensor and a shape change are breaking, values get max |delta|")
{
  test::ScratchDir dir;
  const core::Store store(dir / "models");
  store.ensure_layout();
  using core::DType;
  write_model(dir / "a" / "adapter_model.safetensors", {{{"keep", DType::F32, {4}}, 1.0F},
                                                        {{"gone", DType::F32, {2}}, 1.0F},
                                                        {{"grow", DType::F32, {2}}, 1.0F}});
  test::write_text(dir / "a" / "adapter_config.json", R"({"r": 8, "target_modules": ["q"]})");
  write_model(dir / "b" / "adapter_model.safetensors", {{{"keep", DType::F32, {4}}, 1.5F},
                                                        {{"grow", DType::F32, {3}}, 1.0F},
                                                        {{"new", DType::F32, {1}}, 0.0F}});
  test::write_text(dir / "b" / "adapter_config.json", R"({"r": 16, "target_modules": ["q"]})");
  core::CreateRequest request;
  request.description = "a";
  request.adapter = dir / "a";
  (void)core::create_version(store, request, "t", false);
  request.description = "b";
  request.adapter = dir / "b";
  (void)core::create_version(store, request, "t", false);
  const auto versions = core::list_versions(store);
  const auto diff = core::diff_versions(versions[0], versions[1]);

  REQUIRE(diff.files.size() == 2);
  const auto& model =
      diff.files[1].path == "adapter/adapter_model.safetensors" ? diff.files[1] : diff.files[0];
  std::map<std::string, core::TensorChange> by_name;
  for (const auto& t : model.tensors) {
    by_name[t.name] = t;
  }
  CHECK(by_name.at("gone").kind == "removed");
  CHECK(by_name.at("gone").breaking);
  CHECK(by_name.at("grow").kind == "shape");
  CHECK(by_name.at("grow").breaking);
  CHECK(by_name.at("new").kind == "added");
  CHECK_FALSE(by_name.at("new").breaking);
  CHECK(by_name.at("keep").kind == "values");
  CHECK(by_name.at("keep").max_abs == doctest::Approx(1.0)); // 2.0 -> 3.0 in the first element
  // ||b - a|| / ||a|| with a = [2, 1, 1, 1], b = [3, 1.5, 1.5, 1.5].
  CHECK(by_name.at("keep").rel_frobenius == doctest::Approx(0.5));
  bool r_breaking = false;
  for (const auto& b : diff.breaking) {
    r_breaking = r_breaking || b.find("adapter r changed: 8 -> 16") != std::string::npos;
  }
  CHECK(r_breaking);
  CHECK(diff.breaking.size() == 3);
}

TEST_CASE("unified diff")
{
  const auto lines = core::unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", "a/x", "b/x");
  const std::vector<std::string> expected = {"--- a/x", "+++ b/x", "@@ -1,4 +1,5 @@", " a", "-b", "+B", " c",
                                             " d",      "+e"};
  CHECK(lines == expected);
  CHECK(core::unified_diff("same\n", "same\n", "a", "b").size() == 2);
}
