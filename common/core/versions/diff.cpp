#include "core/versions/diff.hpp"

#include "core/weights/numeric.hpp"
#include "core/weights/safetensors.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/json_file.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

namespace modelkeep::core {

using nlohmann::json;

namespace {

/// max |b - a| and ||b - a|| / ||a|| over two tensors of one float dtype, in blocks.
void compare_values(std::span<const std::byte> a, std::span<const std::byte> b, DType dtype,
                    TensorChange& change)
{
  const std::size_t size = dtype_size(dtype);
  const std::size_t count = a.size() / size;
  constexpr std::size_t k_block = 1 << 16;
  std::vector<float> x(k_block);
  std::vector<float> y(k_block);
  double diff_sq = 0;
  double base_sq = 0;
  for (std::size_t start = 0; start < count; start += k_block) {
    const std::size_t n = std::min(k_block, count - start);
    to_float(a.subspan(start * size, n * size), dtype, {x.data(), n});
    to_float(b.subspan(start * size, n * size), dtype, {y.data(), n});
    for (std::size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(y[i]) - x[i];
      change.max_abs = std::max(change.max_abs, std::fabs(d));
      diff_sq += d * d;
      base_sq += static_cast<double>(x[i]) * x[i];
    }
  }
  change.rel_frobenius = base_sq > 0 ? std::sqrt(diff_sq / base_sq) : (diff_sq > 0 ? INFINITY : 0.0);
}

std::vector<std::string> lines_of(const std::string& text)
{
  auto lines = util::split(text, '\n');
  if (!lines.empty() && lines.back().empty()) {
    lines.pop_back();
  }
  return lines;
}

bool is_text_file(const std::string& path)
{
  for (const char* ext : {".json", ".txt", ".md", ".yaml", ".yml", ".py", ".jsonl", ".cfg", ".toml"}) {
    const std::string e(ext);
    if (path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) {
      return true;
    }
  }
  return false;
}

bool ends_with(const std::string& text, const std::string& suffix)
{
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Breaking changes between two adapter_config.json documents.
void compare_adapter_configs(const fs::path& a, const fs::path& b, std::vector<std::string>& breaking)
{
  json x;
  json y;
  try {
    x = util::read_json_file(a, util::JsonLimit::record, "adapter config");
    y = util::read_json_file(b, util::JsonLimit::record, "adapter config");
  } catch (const Error&) {
    return; // not comparable as configs; the text diff shows what changed
  }
  if (!x.is_object() || !y.is_object()) {
    return;
  }
  for (const char* key : {"r", "target_modules", "base_model_name_or_path", "peft_type"}) {
    const json vx = x.value(key, json());
    const json vy = y.value(key, json());
    if (vx != vy) {
      breaking.push_back(std::string("adapter ") + key + " changed: " + vx.dump() + " -> " + vy.dump());
    }
  }
}

json metric_entry(std::optional<double> a, std::optional<double> b)
{
  return {{"a", a ? json(*a) : json(nullptr)},
          {"b", b ? json(*b) : json(nullptr)},
          {"delta", a && b ? json(*b - *a) : json(nullptr)}};
}

} // namespace

std::vector<TensorChange> diff_safetensors(const fs::path& a_path, const fs::path& b_path)
{
  const auto a = SafetensorsFile::open(a_path);
  const auto b = SafetensorsFile::open(b_path);
  std::vector<TensorChange> changes;
  for (const auto& ta : a.tensors()) {
    const TensorInfo* tb = b.find(ta.name);
    if (tb == nullptr) {
      changes.push_back({ta.name, "removed", shape_text(ta.shape), 0, 0, true});
      continue;
    }
    if (ta.shape != tb->shape) {
      changes.push_back(
          {ta.name, "shape", shape_text(ta.shape) + " -> " + shape_text(tb->shape), 0, 0, true});
      continue;
    }
    if (ta.dtype != tb->dtype) {
      changes.push_back({ta.name, "dtype",
                         std::string(dtype_name(ta.dtype)) + " -> " + std::string(dtype_name(tb->dtype)), 0,
                         0, true});
      continue;
    }
    const auto da = a.data(ta);
    const auto db = b.data(*tb);
    if (std::memcmp(da.data(), db.data(), da.size()) == 0) {
      continue;
    }
    TensorChange change{ta.name, "values", shape_text(ta.shape), 0, 0, false};
    if (is_mergeable(ta.dtype) || ta.dtype == DType::F64) {
      compare_values(da, db, ta.dtype, change);
    }
    changes.push_back(change);
  }
  for (const auto& tb : b.tensors()) {
    if (a.find(tb.name) == nullptr) {
      changes.push_back({tb.name, "added", shape_text(tb.shape), 0, 0, false});
    }
  }
  return changes;
}

std::vector<std::string> unified_diff(const std::string& a, const std::string& b, const std::string& label_a,
                                      const std::string& label_b)
{
  const auto x = lines_of(a);
  const auto y = lines_of(b);
  const std::size_t n = x.size();
  const std::size_t m = y.size();
  if (n * m > 4'000'000) {
    return {"(files too large for a line diff: " + std::to_string(n) + " and " + std::to_string(m) +
            " lines)"};
  }
  // Longest common subsequence table, then a walk that emits ' ', '-' and '+' lines.
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Line {
    char op;
    std::string text;
    std::size_t ai;
    std::size_t bi;
  };
  std::vector<Line> ops;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] == y[j]) {
      ops.push_back({' ', x[i], i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', x[i], i++, j});
    } else {
      ops.push_back({'+', y[j], i, j++});
    }
  }
  std::vector<std::string> out = {"--- " + label_a, "+++ " + label_b};
  constexpr std::size_t k_context = 3;
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].op == ' ') {
      ++k;
      continue;
    }
    std::size_t start = k >= k_context ? k - k_context : 0;
    std::size_t end = k;
    std::size_t quiet = 0;
    while (end < ops.size() && quiet <= 2 * k_context) {
      quiet = ops[end].op == ' ' ? quiet + 1 : 0;
      ++end;
    }
    end = std::min(ops.size(), end - (quiet > k_context ? quiet - k_context : 0));
    std::size_t a_count = 0;
    std::size_t b_count = 0;
    for (std::size_t t = start; t < end; ++t) {
      a_count += ops[t].op != '+' ? 1 : 0;
      b_count += ops[t].op != '-' ? 1 : 0;
    }
    out.push_back("@@ -" + std::to_string(ops[start].ai + 1) + "," + std::to_string(a_count) + " +" +
                  std::to_string(ops[start].bi + 1) + "," + std::to_string(b_count) + " @@");
    for (std::size_t t = start; t < end; ++t) {
      out.push_back(std::string(1, ops[t].op) + ops[t].text);
    }
    k = end;
  }
  return out;
}

VersionDiff diff_versions(const VersionDir& a, const VersionDir& b)
{
  const auto ma = load_metadata(a.path);
  const auto mb = load_metadata(b.path);
  VersionDiff diff;
  for (const auto& fa : ma.manifest.files()) {
    const FileEntry* fb = mb.manifest.find(fa.path);
    if (fb == nullptr) {
      diff.files.push_back({fa.path, "removed", fa.size, 0, {}, {}});
      if (ends_with(fa.path, ".safetensors")) {
        diff.breaking.push_back("file removed: " + fa.path);
      }
      continue;
    }
    if (fb->sha256 == fa.sha256) {
      continue;
    }
    FileChange change{fa.path, "changed", fa.size, fb->size, {}, {}};
    if (ends_with(fa.path, ".safetensors")) {
      change.tensors = diff_safetensors(a.path / fa.path, b.path / fa.path);
      for (const auto& t : change.tensors) {
        if (t.breaking) {
          diff.breaking.push_back("tensor " + t.name + " " + t.kind +
                                  (t.kind == "removed" ? "" : ": " + t.detail));
        }
      }
    } else if (is_text_file(fa.path) && fa.size < (8 << 20) && fb->size < (8 << 20)) {
      change.text_diff = unified_diff(util::read_file(a.path / fa.path), util::read_file(b.path / fa.path),
                                      "a/" + fa.path, "b/" + fa.path);
    }
    if (ends_with(fa.path, "adapter_config.json")) {
      compare_adapter_configs(a.path / fa.path, b.path / fa.path, diff.breaking);
    }
    diff.files.push_back(std::move(change));
  }
  for (const auto& fb : mb.manifest.files()) {
    if (ma.manifest.find(fb.path) == nullptr) {
      diff.files.push_back({fb.path, "added", 0, fb.size, {}, {}});
    }
  }
  if (ma.base_model != mb.base_model) {
    diff.breaking.push_back("base model changed: " + ma.base_model + " -> " + mb.base_model);
  }
  diff.metrics = json::object();
  diff.metrics["final_loss"] = metric_entry(ma.final_loss, mb.final_loss);
  std::set<std::string> names;
  for (const auto& [name, value] : ma.metrics) {
    names.insert(name);
  }
  for (const auto& [name, value] : mb.metrics) {
    names.insert(name);
  }
  for (const auto& name : names) {
    const auto ia = ma.metrics.find(name);
    const auto ib = mb.metrics.find(name);
    diff.metrics[name] = metric_entry(ia != ma.metrics.end() ? std::optional(ia->second) : std::nullopt,
                                      ib != mb.metrics.end() ? std::optional(ib->second) : std::nullopt);
  }
  return diff;
}

} // namespace modelkeep::core
