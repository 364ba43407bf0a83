// Everything a user types that names something in the store: version references, stage
// names, A/B test ids, backup formats, link modes, dtypes.
#include "core/backup/backup.hpp"
#include "core/layout/names.hpp"
#include "core/layout/objects.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/ab.hpp"
#include "core/versions/semver.hpp"
#include "core/versions/version.hpp"
#include "core/weights/safetensors.hpp"
#include "fuzz_support.hpp"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace modelkeep;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::refuse_cleanly([&] { (void)core::VersionRef::parse(text); });
  fuzz::refuse_cleanly([&] { core::validate_stage_name(text); });
  fuzz::refuse_cleanly([&] { core::validate_test_id(text); });
  fuzz::refuse_cleanly([&] { (void)core::parse_format(text); });
  fuzz::refuse_cleanly([&] { (void)core::parse_link_mode(text); });
  fuzz::refuse_cleanly([&] { (void)core::SemVer::parse(text); });
  (void)core::parse_dtype(text);
  (void)core::parse_version_dir_name(text);
  return 0;
}
