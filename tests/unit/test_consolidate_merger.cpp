// Merges generated and real adapters and checks every merged value against a plain
// loop written here, independently of the merger's LibTorch code.
#include "merger.hpp"
#include "operations.hpp"

#include "core/weights/numeric.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

using namespace modelkeep;
namespace fs = std::filesystem;
using core::DType;

namespace {

struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
  std::vector<float> values; ///< as stored (already rounded to dtype)
};

std::uint64_t count(const std::vector<std::uint64_t>& shape)
{
  std::uint64_t n = 1;
  for (const auto d : shape) {
    n *= d;
  }
  return n;
}

float rounded(float v, DType dtype)
{
  std::byte bytes[4];
  core::from_float({&v, 1}, dtype, bytes);
  float out = 0;
  core::to_float(bytes, dtype, {&out, 1});
  return out;
}

Tensor random_tensor(const std::string& name, DType dtype, std::vector<std::uint64_t> shape, float scale,
                     unsigned seed)
{
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0F, scale);
  Tensor t{name, dtype, std::move(shape), {}};
  t.values.resize(count(t.shape));
  for (auto& v : t.values) {
    v = rounded(normal(rng), dtype);
  }
  return t;
}

void write_tensors(const fs::path& path, const std::vector<Tensor>& tensors)
{
  std::vector<core::TensorSpec> specs;
  for (const auto& t : tensors) {
    specs.push_back({t.name, t.dtype, t.shape});
  }
  fs::create_directories(path.parent_path());
  core::SafetensorsWriter writer(path, specs, {{"format", "pt"}});
  for (const auto& t : tensors) {
    std::vector<std::byte> bytes(t.values.size() * core::dtype_size(t.dtype));
    if (core::is_mergeable(t.dtype)) {
      core::from_float(t.values, t.dtype, bytes);
    } // other dtypes (packed integers) are written as zeros: only their names and shapes matter here
    writer.write(bytes);
  }
  writer.finish();
}

std::map<std::string, Tensor> read_tensors(const fs::path& path)
{
  const auto file = core::SafetensorsFile::open(path);
  std::map<std::string, Tensor> out;
  for (const auto& info : file.tensors()) {
    Tensor t{info.name, info.dtype, info.shape, std::vector<float>(info.numel())};
    core::to_float(file.data(info), info.dtype, t.values);
    out[info.name] = std::move(t);
  }
  return out;
}

void write_adapter(const fs::path& dir, const nlohmann::json& config, const std::vector<Tensor>& tensors)
{
  test::write_text(dir / "adapter_config.json", config.dump());
  write_tensors(dir / "adapter_model.safetensors", tensors);
}

consolidate::MergeStats run_merge(const fs::path& base, const std::vector<fs::path>& adapters,
                                  const fs::path& out, core::MergeOptions options = {})
{
  const auto model = core::BaseModel::open(base);
  std::vector<core::Adapter> opened;
  for (const auto& a : adapters) {
    opened.push_back(core::Adapter::open(a));
  }
  const auto plan = core::plan_merge(model, opened, options);
  return consolidate::write_merged(model, opened, plan, out, nullptr);
}

/// The reference: W[o][i] (or W[i][o] when transposed) += s * sum_r B[o][r] * A[r][i], in double.
std::vector<float> reference_linear(const Tensor& base, const Tensor& a, const Tensor& b, double s,
                                    bool transposed)
{
  const std::uint64_t r = a.shape[0];
  const std::uint64_t in = a.shape[1];
  const std::uint64_t out = b.shape[0];
  std::vector<float> w = base.values;
  for (std::uint64_t o = 0; o < out; ++o) {
    for (std::uint64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (std::uint64_t k = 0; k < r; ++k) {
        sum += static_cast<double>(b.values[o * r + k]) * a.values[k * in + i];
      }
      const std::uint64_t at = transposed ? i * out + o : o * in + i;
      w[at] = static_cast<float>(static_cast<double>(w[at]) + sum * s);
    }
  }
  return w;
}

/// The DoRA reference: each output o of `w` (laid out as reference_linear's result) scaled by
/// magnitude[o] / ||w[o]||, the norm over the inputs, in double.
void scale_by_magnitude(std::vector<float>& w, const std::vector<float>& magnitude, std::uint64_t in,
                        bool transposed)
{
  const std::uint64_t out = magnitude.size();
  const auto at = [&](std::uint64_t o, std::uint64_t i) { return transposed ? i * out + o : o * in + i; };
  for (std::uint64_t o = 0; o < out; ++o) {
    double norm = 0;
    for (std::uint64_t i = 0; i < in; ++i) {
      norm += static_cast<double>(w[at(o, i)]) * w[at(o, i)];
    }
    for (std::uint64_t i = 0; i < in; ++i) {
      w[at(o, i)] = static_cast<float>(w[at(o, i)] * magnitude[o] / std::sqrt(norm));
    }
  }
}

/// Every value equal after rounding to `dtype`, allowing one unit in the last place for the
/// different summation order of the BLAS.
void check_close(const std::vector<float>& expected, const Tensor& actual, const std::string& what)
{
  REQUIRE(expected.size() == actual.values.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const float want = rounded(expected[i], actual.dtype);
    const float got = actual.values[i];
    const float ulp = actual.dtype == DType::F32
                          ? 1e-5F * (1 + std::fabs(want))
                          : std::fabs(want) * (actual.dtype == DType::BF16 ? 0x1p-7F : 0x1p-10F) + 1e-6F;
    if (std::fabs(want - got) > ulp) {
      ++bad;
    }
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << expected.size() << " values differ");
}

nlohmann::json lora_config(double r, double alpha)
{
  return {{"peft_type", "LORA"}, {"r", r}, {"lora_alpha", alpha}, {"target_modules", {"q", "v"}}};
}

} // namespace

TEST_CASE("linear LoRA merge in F32, BF16 and F16 matches the reference")
{
  for (const DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    CAPTURE(core::dtype_name(dtype));
    test::ScratchDir dir;
    const Tensor w = random_tensor("model.layers.0.q.weight", dtype, {48, 32}, 0.5F, 1);
    const Tensor other = random_tensor("model.norm.weight", dtype, {32}, 1.0F, 2);
    write_tensors(dir / "base" / "model.safetensors", {w, other});
    test::write_text(dir / "base" / "config.json", R"({"model_type": "llama"})");
    test::write_text(dir / "base" / "tokenizer.json", "{\"tok\": 1}");
    const Tensor a =
        random_tensor("base_model.model.model.layers.0.q.lora_A.weight", DType::F32, {4, 32}, 0.3F, 3);
    const Tensor b =
        random_tensor("base_model.model.model.layers.0.q.lora_B.weight", DType::F32, {48, 4}, 0.3F, 4);
    write_adapter(dir / "adapter", lora_config(4, 8), {a, b});
    (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
    const auto out = read_tensors(dir / "out" / "model.safetensors");
    check_close(reference_linear(w, a, b, 2.0, false), out.at(w.name), "q");
    CHECK(out.at(other.name).values == other.values);
    CHECK(test::read_text(dir / "out" / "tokenizer.json") == "{\"tok\": 1}");
    CHECK(test::read_text(dir / "out" / "config.json") == R"({"model_type": "llama"})");
  }
}

TEST_CASE("untouched tensors are copied byte for byte and metadata kept")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("l.q.weight", DType::BF16, {8, 8}, 1, 5);
  Tensor ints{"l.ids", DType::I32, {3}, {1, 2, 3}};
  std::vector<core::TensorSpec> specs = {{w.name, w.dtype, w.shape}, {"l.ids", DType::I64, {3}}};
  fs::create_directories(dir / "base");
  {
    core::SafetensorsWriter writer(dir / "base" / "model.safetensors", specs, {{"format", "pt"}, {"k", "v"}});
    std::vector<std::byte> wb(128);
    core::from_float(w.values, DType::BF16, wb);
    writer.write(wb);
    std::vector<std::byte> ib(24, std::byte{0x5a});
    writer.write(ib);
    writer.finish();
  }
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 8}, 1, 6);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 7);
  write_adapter(dir / "adapter", lora_config(2, 2), {a, b});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  const auto in = core::SafetensorsFile::open(dir / "base" / "model.safetensors");
  const auto out = core::SafetensorsFile::open(dir / "out" / "model.safetensors");
  const auto in_ids = in.data(*in.find("l.ids"));
  const auto out_ids = out.data(*out.find("l.ids"));
  CHECK(std::equal(in_ids.begin(), in_ids.end(), out_ids.begin(), out_ids.end()));
  CHECK(out.metadata().at("k") == "v");
}

TEST_CASE("rslora, rank_pattern and alpha_pattern choose the scale per module")
{
  test::ScratchDir dir;
  const Tensor q = random_tensor("m.attn.q.weight", DType::F32, {16, 16}, 1, 8);
  const Tensor v = random_tensor("m.attn.v.weight", DType::F32, {16, 16}, 1, 9);
  write_tensors(dir / "base" / "model.safetensors", {q, v});
  const Tensor qa = random_tensor("base_model.model.m.attn.q.lora_A.weight", DType::F32, {4, 16}, 1, 10);
  const Tensor qb = random_tensor("base_model.model.m.attn.q.lora_B.weight", DType::F32, {16, 4}, 1, 11);
  const Tensor va = random_tensor("base_model.model.m.attn.v.lora_A.weight", DType::F32, {4, 16}, 1, 12);
  const Tensor vb = random_tensor("base_model.model.m.attn.v.lora_B.weight", DType::F32, {16, 4}, 1, 13);
  nlohmann::ordered_json config = {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"use_rslora", true}};
  config["rank_pattern"] = nlohmann::ordered_json::object();
  config["rank_pattern"]["attn.q"] = 16; // first match wins
  config["rank_pattern"]["q"] = 64;
  config["alpha_pattern"] = {{"v", 2}};
  test::write_text(dir / "adapter" / "adapter_config.json", config.dump());
  write_tensors(dir / "adapter" / "adapter_model.safetensors", {qa, qb, va, vb});
  const auto adapter = core::Adapter::open(dir / "adapter");
  CHECK(adapter.config().scaling("m.attn.q") == doctest::Approx(8.0 / 4.0)); // 8 / sqrt(16)
  CHECK(adapter.config().scaling("m.attn.v") == doctest::Approx(2.0 / 2.0)); // 2 / sqrt(4)
  CHECK(adapter.config().scaling("m.xattn.q") ==
        doctest::Approx(8.0 / 8.0)); // "q" matches, "attn.q" does not
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  const auto out = read_tensors(dir / "out" / "model.safetensors");
  check_close(reference_linear(q, qa, qb, 2.0, false), out.at(q.name), "q");
  check_close(reference_linear(v, va, vb, 1.0, false), out.at(v.name), "v");
}

TEST_CASE("several adapters sum their weighted deltas, times --scale")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("x.q.weight", DType::F32, {12, 10}, 1, 14);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a1 = random_tensor("base_model.model.x.q.lora_A.weight", DType::F32, {2, 10}, 1, 15);
  const Tensor b1 = random_tensor("base_model.model.x.q.lora_B.weight", DType::F32, {12, 2}, 1, 16);
  const Tensor a2 = random_tensor("base_model.model.x.q.lora_A.weight", DType::BF16, {3, 10}, 1, 17);
  const Tensor b2 = random_tensor("base_model.model.x.q.lora_B.weight", DType::BF16, {12, 3}, 1, 18);
  write_adapter(dir / "one", lora_config(2, 4), {a1, b1});
  write_adapter(dir / "two", lora_config(3, 3), {a2, b2});
  (void)run_merge(dir / "base", {dir / "one", dir / "two"}, dir / "out",
                  {{0.7, 0.3}, 0.5, std::nullopt, false});
  auto expected = reference_linear(w, a1, b1, 2.0 * 0.7 * 0.5, false);
  Tensor step{w.name, DType::F32, w.shape, expected};
  expected = reference_linear(step, a2, b2, 1.0 * 0.3 * 0.5, false);
  check_close(expected, read_tensors(dir / "out" / "model.safetensors").at(w.name), "x.q");
}

TEST_CASE("embedding, conv, DoRA, lora_bias and full replacements")
{
  test::ScratchDir dir;
  const Tensor emb = random_tensor("embed.weight", DType::F32, {20, 6}, 1, 20);
  const Tensor conv = random_tensor("conv.weight", DType::F32, {5, 3, 3, 3}, 1, 21);
  const Tensor lin = random_tensor("lin.weight", DType::F32, {7, 6}, 1, 22);
  const Tensor bias = random_tensor("lin.bias", DType::F32, {7}, 1, 23);
  const Tensor head = random_tensor("head.weight", DType::BF16, {4, 6}, 1, 24);
  write_tensors(dir / "base" / "model.safetensors", {emb, conv, lin, bias, head});

  const Tensor ea = random_tensor("base_model.model.embed.lora_embedding_A", DType::F32, {2, 20}, 1, 25);
  const Tensor eb = random_tensor("base_model.model.embed.lora_embedding_B", DType::F32, {6, 2}, 1, 26);
  const Tensor ca = random_tensor("base_model.model.conv.lora_A.weight", DType::F32, {2, 3, 3, 3}, 1, 27);
  const Tensor cb = random_tensor("base_model.model.conv.lora_B.weight", DType::F32, {5, 2, 1, 1}, 1, 28);
  const Tensor la = random_tensor("base_model.model.lin.lora_A.weight", DType::F32, {2, 6}, 1, 29);
  const Tensor lb = random_tensor("base_model.model.lin.lora_B.weight", DType::F32, {7, 2}, 1, 30);
  const Tensor lbias = random_tensor("base_model.model.lin.lora_B.bias", DType::F32, {7}, 1, 31);
  const Tensor newhead = random_tensor("base_model.model.head.weight", DType::F32, {4, 6}, 1, 32);
  const Tensor added = random_tensor("base_model.model.score.weight", DType::F32, {2, 6}, 1, 33);
  auto config = lora_config(2, 4);
  config["lora_bias"] = true;
  write_adapter(dir / "adapter", config, {ea, eb, ca, cb, la, lb, lbias, newhead, added});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  const auto out = read_tensors(dir / "out" / "model.safetensors");

  // Embedding: W[n][d] += s * sum_r B[d][r] * A[r][n]  ((B @ A)^T).
  check_close(reference_linear(emb, ea, eb, 2.0, true), out.at("embed.weight"), "embedding");
  // Conv k x k: delta[o][i][y][x] = s * sum_r B[o][r] * A[r][i][y][x] (A flattened over i, y, x).
  Tensor ca_flat{ca.name, ca.dtype, {2, 27}, ca.values};
  Tensor cb_flat{cb.name, cb.dtype, {5, 2}, cb.values};
  Tensor conv_flat{conv.name, conv.dtype, {5, 27}, conv.values};
  check_close(reference_linear(conv_flat, ca_flat, cb_flat, 2.0, false), out.at("conv.weight"), "conv");
  check_close(reference_linear(lin, la, lb, 2.0, false), out.at("lin.weight"), "linear");
  std::vector<float> want_bias = bias.values;
  for (std::size_t i = 0; i < want_bias.size(); ++i) {
    want_bias[i] += 2.0F * lbias.values[i];
  }
  check_close(want_bias, out.at("lin.bias"), "lora_bias");
  CHECK(out.at("head.weight").dtype == DType::BF16);
  check_close(newhead.values, out.at("head.weight"), "modules_to_save replacement");
  CHECK(out.at("score.weight").values == added.values);
}

TEST_CASE("DoRA rescales every output row to its magnitude")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("d.weight", DType::F32, {6, 5}, 1, 40);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a = random_tensor("base_model.model.d.lora_A.weight", DType::F32, {2, 5}, 1, 41);
  const Tensor b = random_tensor("base_model.model.d.lora_B.weight", DType::F32, {6, 2}, 1, 42);
  const Tensor m = random_tensor("base_model.model.d.lora_magnitude_vector", DType::F32, {6}, 1, 43);
  auto config = lora_config(2, 2);
  config["use_dora"] = true;
  write_adapter(dir / "adapter", config, {a, b, m});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  auto expected = reference_linear(w, a, b, 1.0, false);
  scale_by_magnitude(expected, m.values, 5, false);
  check_close(expected, read_tensors(dir / "out" / "model.safetensors").at("d.weight"), "dora");
}

TEST_CASE("a sharded base keeps its layout, the --dtype option converts merged tensors only")
{
  test::ScratchDir dir;
  const Tensor q = random_tensor("model.q.weight", DType::BF16, {8, 8}, 1, 50);
  const Tensor k = random_tensor("model.k.weight", DType::BF16, {8, 8}, 1, 51);
  write_tensors(dir / "base" / "model-00001-of-00002.safetensors", {q});
  write_tensors(dir / "base" / "model-00002-of-00002.safetensors", {k});
  test::write_text(
      dir / "base" / "model.safetensors.index.json",
      R"({"metadata": {"total_size": 256}, "weight_map": {"model.q.weight": "model-00001-of-00002.safetensors", "model.k.weight": "model-00002-of-00002.safetensors"}})");
  const Tensor a = random_tensor("base_model.model.model.k.lora_A.weight", DType::F32, {1, 8}, 1, 52);
  const Tensor b = random_tensor("base_model.model.model.k.lora_B.weight", DType::F32, {8, 1}, 1, 53);
  const Tensor extra = random_tensor("base_model.model.classifier.weight", DType::F32, {2, 8}, 1, 54);
  write_adapter(dir / "adapter", lora_config(1, 1), {a, b, extra});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out", {{}, 1, DType::F32, false});
  const auto first = read_tensors(dir / "out" / "model-00001-of-00002.safetensors");
  const auto second = read_tensors(dir / "out" / "model-00002-of-00002.safetensors");
  CHECK(first.at(q.name).dtype == DType::BF16);
  CHECK(second.at(k.name).dtype == DType::F32);
  check_close(reference_linear(k, a, b, 1.0, false), second.at(k.name), "k");
  CHECK(second.count("classifier.weight") == 1);
  const auto index = nlohmann::json::parse(test::read_text(dir / "out" / "model.safetensors.index.json"));
  CHECK(index["weight_map"]["classifier.weight"] == "model-00002-of-00002.safetensors");
  CHECK(index["metadata"]["total_size"] == 128 + 256 + 64);
}

TEST_CASE("bad merges are refused before anything is written")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("l.q.weight", DType::F32, {8, 6}, 1, 60);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const auto expect_refused = [&](const std::vector<Tensor>& tensors, const nlohmann::json& config,
                                  const char* cause) {
    fs::remove_all(dir / "adapter");
    write_adapter(dir / "adapter", config, tensors);
    try {
      (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
      FAIL("expected a refusal");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::malformed);
      CHECK_MESSAGE(std::string(error.what()).find(cause) != std::string::npos, error.what());
    }
    CHECK_FALSE(fs::exists(dir / "out"));
  };
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 6}, 1, 61);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 62);
  const Tensor missing_a = random_tensor("base_model.model.l.k.lora_A.weight", DType::F32, {2, 6}, 1, 63);
  const Tensor missing_b = random_tensor("base_model.model.l.k.lora_B.weight", DType::F32, {8, 2}, 1, 64);
  const Tensor wrong_b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {5, 2}, 1, 65);
  const Tensor odd = random_tensor("base_model.model.l.q.lora_C.weight", DType::F32, {1}, 1, 66);
  expect_refused({a, b, missing_a, missing_b}, lora_config(2, 2), "no base tensor l.k.weight");
  expect_refused({a, wrong_b}, lora_config(2, 2), "in neither orientation");
  expect_refused({a, b, odd}, lora_config(2, 2), "not a LoRA tensor this merger understands");
  auto ia3 = lora_config(2, 2);
  ia3["peft_type"] = "IA3";
  expect_refused({a, b}, ia3, "only LORA adapters");
  expect_refused({a}, lora_config(2, 2), "lacks its lora_A or lora_B");
  // An adapter for another base: a summary line and the first 20 problems, not a screenful.
  std::vector<Tensor> foreign;
  for (int i = 0; i < 25; ++i) {
    const std::string module = "base_model.model.other.m" + std::to_string(i);
    foreign.push_back(random_tensor(module + ".lora_A.weight", DType::F32, {2, 6}, 1, 70 + 2 * i));
    foreign.push_back(random_tensor(module + ".lora_B.weight", DType::F32, {8, 2}, 1, 71 + 2 * i));
  }
  expect_refused(foreign, lora_config(2, 2), "cannot merge: 25 problems (is this adapter for this base model?)");
  expect_refused(foreign, lora_config(2, 2), "\n  ... and 5 more");
}

namespace {

/// The shared test data, if this checkout has it beside it.
fs::path shared_adapters()
{
  return fs::path(MODELKEEP_SOURCE_DIR) / ".." / "shared" / "testdata" / "adapters";
}

/// A GPT-2 base (without the transformer. prefix) for the real GPT-2 adapter: random BF16
/// weights of every module it adapts, written to dir/model.safetensors with a config.json.
std::vector<Tensor> gpt2_base(const fs::path& dir, unsigned seed)
{
  std::vector<Tensor> base;
  for (int i = 0; i < 12; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    base.push_back(random_tensor(p + "attn.c_attn.weight", DType::BF16, {768, 2304}, 0.02F, seed++));
    base.push_back(random_tensor(p + "attn.c_proj.weight", DType::BF16, {768, 768}, 0.02F, seed++));
    base.push_back(random_tensor(p + "mlp.c_proj.weight", DType::BF16, {3072, 768}, 0.02F, seed++));
  }
  write_tensors(dir / "model.safetensors", base);
  test::write_text(dir / "config.json", R"({"model_type": "gpt2"})");
  return base;
}

/// Two of the 24 layers of the real GPT-NeoX adapter (their real values) in adapter_dir, and a
/// random base of those modules in base_dir; returns the A, B tensors and the base tensors.
std::pair<std::vector<Tensor>, std::vector<Tensor>> neox_fixture(const fs::path& adapter_dir,
                                                                  const fs::path& base_dir, DType dtype,
                                                                  unsigned seed)
{
  const fs::path source = shared_adapters() / "opencalm1b-neox-f16-r1";
  const auto real = read_tensors(source / "adapter_model.safetensors");
  std::vector<Tensor> kept;
  std::vector<Tensor> base;
  for (const int layer : {0, 23}) {
    const std::string module = "gpt_neox.layers." + std::to_string(layer) + ".attention.query_key_value";
    kept.push_back(real.at("base_model.model." + module + ".lora_A.weight"));
    kept.push_back(real.at("base_model.model." + module + ".lora_B.weight"));
    base.push_back(
        random_tensor(module + ".weight", dtype, {6144, 2048}, 0.02F, seed + static_cast<unsigned>(layer)));
  }
  fs::create_directories(adapter_dir);
  fs::copy_file(source / "adapter_config.json", adapter_dir / "adapter_config.json");
  write_tensors(adapter_dir / "adapter_model.safetensors", kept);
  write_tensors(base_dir / "model.safetensors", base);
  return {kept, base};
}

} // namespace

TEST_CASE("real adapter: GPT-2 Conv1D with fan_in_fan_out, base stored without the transformer. prefix")
{
  const fs::path adapter_dir = shared_adapters() / "gpt2-tigrinya-fifo";
  if (!fs::exists(adapter_dir / "adapter_model.safetensors")) {
    MESSAGE("skipped: ../shared/testdata is not beside this checkout");
    return;
  }
  test::ScratchDir dir;
  const auto base = gpt2_base(dir / "base", 100);
  (void)run_merge(dir / "base", {adapter_dir}, dir / "out");
  const auto adapter = read_tensors(adapter_dir / "adapter_model.safetensors");
  const auto out = read_tensors(dir / "out" / "model.safetensors");
  for (const auto& w : base) {
    const std::string module = "base_model.model.transformer." + w.name.substr(0, w.name.size() - 7);
    check_close(reference_linear(w, adapter.at(module + ".lora_A.weight"),
                                 adapter.at(module + ".lora_B.weight"), 4.0, true),
                out.at(w.name), w.name);
  }
}

TEST_CASE("real adapter: F16 rank-1 GPT-NeoX with a scale of 32")
{
  const fs::path source = shared_adapters() / "opencalm1b-neox-f16-r1";
  if (!fs::exists(source / "adapter_model.safetensors")) {
    MESSAGE("skipped: ../shared/testdata is not beside this checkout");
    return;
  }
  test::ScratchDir dir;
  // Two of the 24 layers keep the test small; their values are the real ones.
  const auto [kept, base] = neox_fixture(dir / "adapter", dir / "base", DType::F32, 200);
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  const auto out = read_tensors(dir / "out" / "model.safetensors");
  for (std::size_t i = 0; i < base.size(); ++i) {
    check_close(reference_linear(base[i], kept[2 * i], kept[2 * i + 1], 32.0, false), out.at(base[i].name),
                base[i].name);
  }
}

namespace {

/// Flips bits of one element of a tensor in a safetensors file (data begins after the 8-byte
/// header length and the header).
void flip(const fs::path& file, const std::string& tensor, std::uint64_t element, unsigned char mask,
          std::size_t byte_in_element = 0)
{
  const auto info = *core::SafetensorsFile::open(file).find(tensor);
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  std::uint64_t header = 0;
  stream.read(reinterpret_cast<char*>(&header), 8);
  const auto offset =
      static_cast<std::streamoff>(8 + header + info.begin + element * core::dtype_size(info.dtype) + byte_in_element);
  stream.seekg(offset);
  char byte = 0;
  stream.read(&byte, 1);
  byte = static_cast<char>(static_cast<unsigned char>(byte) ^ mask);
  stream.seekp(offset);
  stream.write(&byte, 1);
}

consolidate::Checked run_check(const fs::path& base, const std::vector<fs::path>& adapters, const fs::path& merged,
                               double scale = 1, std::uint64_t max_ulp = 0)
{
  consolidate::CheckRequest request;
  request.inputs.base = base;
  request.inputs.adapters = adapters;
  request.inputs.scale = scale;
  request.merged = merged;
  request.max_ulp = max_ulp;
  return consolidate::check_models(request, false);
}

} // namespace

TEST_CASE("check proves a merge bit for bit and finds a flipped element, a wrong scale and a changed untouched tensor")
{
  test::ScratchDir dir;
  const Tensor q = random_tensor("l.q.weight", DType::BF16, {8, 6}, 1, 300);
  const Tensor other = random_tensor("l.other.weight", DType::F16, {4, 4}, 1, 301);
  write_tensors(dir / "base" / "model.safetensors", {q, other});
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 6}, 1, 302);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 303);
  write_adapter(dir / "adapter", lora_config(2, 4), {a, b});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  const fs::path merged = dir / "out" / "model.safetensors";

  const auto good = run_check(dir / "base", {dir / "adapter"}, dir / "out");
  CHECK(good.check.ok());
  CHECK(good.check.tensors == 2);
  CHECK(good.check.identical == 2);
  CHECK(good.check.max_ulp == 0);
  CHECK_NOTHROW(good.require_ok());

  // The same merge at another scale is not this model.
  const auto scaled = run_check(dir / "base", {dir / "adapter"}, dir / "out", 2.0);
  REQUIRE_FALSE(scaled.check.ok());
  CHECK(scaled.check.differences.front().tensor == "l.q.weight");
  CHECK(scaled.check.differences.front().kind == "values");
  CHECK_THROWS_AS(scaled.require_ok(), Error);

  // The lowest bit of one element: 1 ulp, passes with --max-ulp 1, and the worst is named.
  flip(merged, "l.q.weight", 5, 0x01);
  const auto one = run_check(dir / "base", {dir / "adapter"}, dir / "out");
  REQUIRE(one.check.differences.size() == 1);
  CHECK(one.check.differences.front().max_ulp == 1);
  CHECK(one.check.differences.front().detail.find("at element 5 (1 of 48 differ)") != std::string::npos);
  const auto tolerated = run_check(dir / "base", {dir / "adapter"}, dir / "out", 1, 1);
  CHECK(tolerated.check.ok());
  CHECK(tolerated.check.within == 1);
  CHECK(tolerated.check.worst_tensor == "l.q.weight");
  CHECK(tolerated.check.worst_element == 5);
  flip(merged, "l.q.weight", 5, 0x01);

  // A tensor no adapter touches must be the base's, bit for bit.
  flip(merged, "l.other.weight", 3, 0x40, 1);
  const auto untouched = run_check(dir / "base", {dir / "adapter"}, dir / "out");
  REQUIRE(untouched.check.differences.size() == 1);
  CHECK(untouched.check.differences.front().kind == "untouched");
  CHECK(untouched.check.differences.front().tensor == "l.other.weight");
}

TEST_CASE("check: a missing, an extra and a retyped tensor are differences")
{
  test::ScratchDir dir;
  const Tensor q = random_tensor("l.q.weight", DType::F32, {8, 6}, 1, 310);
  const Tensor k = random_tensor("l.k.weight", DType::F32, {8, 6}, 1, 311);
  write_tensors(dir / "base" / "model.safetensors", {q, k});
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 6}, 1, 312);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 313);
  write_adapter(dir / "adapter", lora_config(2, 4), {a, b});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  auto tensors = read_tensors(dir / "out" / "model.safetensors");
  Tensor extra = tensors.at("l.k.weight");
  extra.name = "l.extra.weight";
  Tensor retyped = tensors.at("l.q.weight");
  retyped.dtype = DType::BF16;
  write_tensors(dir / "changed" / "model.safetensors", {retyped, extra});
  const auto result = run_check(dir / "base", {dir / "adapter"}, dir / "changed");
  std::map<std::string, std::string> kinds;
  for (const auto& d : result.check.differences) {
    kinds[d.tensor] = d.kind;
  }
  CHECK(kinds.at("l.q.weight") == "dtype");
  CHECK(kinds.at("l.k.weight") == "missing");
  CHECK(kinds.at("l.extra.weight") == "extra");
}

TEST_CASE("check confirms the real adapters' merges: 0 ulp")
{
  for (const char* name : {"gpt2-tigrinya-fifo", "opencalm1b-neox-f16-r1"}) {
    const fs::path adapter = shared_adapters() / name;
    if (!fs::exists(adapter / "adapter_model.safetensors")) {
      MESSAGE("skipped: ../shared/testdata is not beside this checkout");
      return;
    }
  }
  test::ScratchDir dir;
  // GPT-2 (Conv1D, fan_in_fan_out) over BF16 weights: every module of the real adapter.
  const auto base = gpt2_base(dir / "gpt2", 400);
  const fs::path gpt2_adapter = shared_adapters() / "gpt2-tigrinya-fifo";
  (void)run_merge(dir / "gpt2", {gpt2_adapter}, dir / "gpt2-merged");
  const auto gpt2 = run_check(dir / "gpt2", {gpt2_adapter}, dir / "gpt2-merged");
  CHECK(gpt2.check.ok());
  CHECK(gpt2.check.max_ulp == 0);
  CHECK(gpt2.check.identical == base.size());
  // GPT-NeoX, F16, rank 1, two of its layers.
  (void)neox_fixture(dir / "neox-adapter", dir / "neox", DType::F16, 500);
  (void)run_merge(dir / "neox", {dir / "neox-adapter"}, dir / "neox-merged");
  const auto checked = run_check(dir / "neox", {dir / "neox-adapter"}, dir / "neox-merged");
  CHECK(checked.check.ok());
  CHECK(checked.check.max_ulp == 0);
  // Merged with the wrong scale: caught.
  const auto wrong = run_check(dir / "neox", {dir / "neox-adapter"}, dir / "neox-merged", 0.5);
  CHECK_FALSE(wrong.check.ok());
}

TEST_CASE("quantized bases, .bin-only checkpoints and a tensor in two shards are refused with what to do")
{
  test::ScratchDir dir;
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 6}, 1, 600);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 601);
  write_adapter(dir / "adapter", lora_config(2, 2), {a, b});
  const Tensor q = random_tensor("l.q.weight", DType::F32, {8, 6}, 1, 602);
  const auto refused = [&](const fs::path& base, const char* cause) {
    try {
      (void)run_merge(base, {dir / "adapter"}, dir / "out");
      FAIL("expected a refusal");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::malformed);
      CHECK_MESSAGE(std::string(error.what()).find(cause) != std::string::npos, error.what());
    }
    CHECK_FALSE(fs::exists(dir / "out"));
  };
  // GPTQ/AWQ-style packed weights, found by their tensors.
  const Tensor packed{"l.q.qweight", DType::I32, {1, 6}, {1, 2, 3, 4, 5, 6}};
  write_tensors(dir / "gptq" / "model.safetensors", {q, packed});
  refused(dir / "gptq", "the base model is quantized (tensor l.q.qweight is quantization state): merge into the "
                        "unquantized base model");
  // Or by config.json.
  write_tensors(dir / "awq" / "model.safetensors", {q});
  test::write_text(dir / "awq" / "config.json", R"({"model_type": "llama", "quantization_config": {"quant_method": "awq"}})");
  refused(dir / "awq", "the base model is quantized (awq, config.json quantization_config)");
  // Only PyTorch pickles: never read.
  fs::create_directories(dir / "pickles");
  test::write_text(dir / "pickles" / "pytorch_model.bin", "not read");
  refused(dir / "pickles", "only PyTorch .bin weights in");
  // One tensor name in two shards.
  const Tensor k = random_tensor("l.k.weight", DType::F32, {8, 6}, 1, 604);
  write_tensors(dir / "dup" / "model-00001-of-00002.safetensors", {q});
  write_tensors(dir / "dup" / "model-00002-of-00002.safetensors", {k, q});
  test::write_text(dir / "dup" / "model.safetensors.index.json",
                   R"({"metadata": {}, "weight_map": {"l.q.weight": "model-00001-of-00002.safetensors", )"
                   R"("l.k.weight": "model-00002-of-00002.safetensors"}})");
  refused(dir / "dup", "tensor l.q.weight is in both model-00001-of-00002.safetensors and model-00002-of-00002.safetensors");
}

namespace {

/// One adapter's delta, s * B @ A, in double, laid out [out][in].
std::vector<double> delta_double(const Tensor& a, const Tensor& b, double s)
{
  const std::uint64_t r = a.shape[0];
  const std::uint64_t in = a.shape[1];
  const std::uint64_t out = b.shape[0];
  std::vector<double> d(out * in);
  for (std::uint64_t o = 0; o < out; ++o) {
    for (std::uint64_t i = 0; i < in; ++i) {
      double sum = 0;
      for (std::uint64_t k = 0; k < r; ++k) {
        sum += static_cast<double>(b.values[o * r + k]) * a.values[k * in + i];
      }
      d[o * in + i] = sum * s;
    }
  }
  return d;
}

/// The floor(density * n) values of largest magnitude, the others zero.
std::vector<double> pruned(std::vector<double> d, double density)
{
  const auto keep = static_cast<std::size_t>(std::floor(density * static_cast<double>(d.size())));
  std::vector<std::size_t> order(d.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return std::fabs(d[x]) > std::fabs(d[y]); });
  for (std::size_t i = keep; i < order.size(); ++i) {
    d[order[i]] = 0;
  }
  return d;
}

/// TIES on pruned deltas: the sign of the sum elected (0 elects +), the mean of agreeing values.
std::vector<double> ties(const std::vector<std::vector<double>>& parts)
{
  std::vector<double> out(parts.front().size());
  for (std::size_t e = 0; e < out.size(); ++e) {
    double total = 0;
    for (const auto& p : parts) {
      total += p[e];
    }
    const double elected = total >= 0 ? 1 : -1;
    double sum = 0;
    double count = 0;
    for (const auto& p : parts) {
      if (p[e] != 0 && (p[e] > 0) == (elected > 0)) {
        sum += p[e];
        count += 1;
      }
    }
    out[e] = count > 0 ? sum / count : 0;
  }
  return out;
}

std::vector<float> plus(const Tensor& base, const std::vector<double>& delta)
{
  std::vector<float> w = base.values;
  for (std::size_t e = 0; e < w.size(); ++e) {
    w[e] = static_cast<float>(static_cast<double>(w[e]) + delta[e]);
  }
  return w;
}

core::MergeOptions combined(core::Combination how, double density, std::vector<double> weights = {},
                            std::uint64_t seed = 0)
{
  core::MergeOptions options;
  options.weights = std::move(weights);
  options.dtype = DType::F32;
  options.combination = how;
  options.density = density;
  options.seed = seed;
  return options;
}

} // namespace

TEST_CASE("combinations of two adapters match a double-precision reference, element by element")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("l.q.weight", DType::F32, {16, 12}, 1, 700);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a1 = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 12}, 1, 701);
  const Tensor b1 = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {16, 2}, 1, 702);
  const Tensor a2 = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 12}, 1, 703);
  const Tensor b2 = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {16, 2}, 1, 704);
  write_adapter(dir / "one", lora_config(2, 4), {a1, b1}); // scaling 2
  write_adapter(dir / "two", lora_config(2, 2), {a2, b2}); // scaling 1
  const std::vector<double> d1 = delta_double(a1, b1, 2.0 * 0.7);
  const std::vector<double> d2 = delta_double(a2, b2, 1.0 * 0.5);
  const std::vector<fs::path> both = {dir / "one", dir / "two"};
  const auto merged = [&](const char* out, const core::MergeOptions& options) {
    (void)run_merge(dir / "base", both, dir / out, options);
    return read_tensors(dir / out / "model.safetensors").at("l.q.weight");
  };
  SUBCASE("magnitude_prune keeps the largest 40% of each delta")
  {
    const auto p1 = pruned(d1, 0.4);
    const auto p2 = pruned(d2, 0.4);
    std::vector<double> sum(p1.size());
    for (std::size_t e = 0; e < sum.size(); ++e) {
      sum[e] = p1[e] + p2[e];
    }
    check_close(plus(w, sum), merged("mp", combined(core::Combination::magnitude_prune, 0.4, {0.7, 0.5})), "mp");
  }
  SUBCASE("ties: trim to 50%, elect a sign by mass, average the agreeing values")
  {
    check_close(plus(w, ties({pruned(d1, 0.5), pruned(d2, 0.5)})),
                merged("ties", combined(core::Combination::ties, 0.5, {0.7, 0.5})), "ties");
  }
  SUBCASE("density 1.0 reduces magnitude_prune and dare_linear to linear, bit for bit")
  {
    const auto linear = read_tensors((run_merge(dir / "base", both, dir / "linear", combined(core::Combination::linear, 1, {0.7, 0.5})),
                                      dir / "linear" / "model.safetensors")).at("l.q.weight");
    CHECK(merged("mp1", combined(core::Combination::magnitude_prune, 1, {0.7, 0.5})).values == linear.values);
    CHECK(merged("dare1", combined(core::Combination::dare_linear, 1, {0.7, 0.5})).values == linear.values);
  }
}

TEST_CASE("ties between signs: a zero total elects +, so opposite deltas leave the positive one")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("l.q.weight", DType::F32, {8, 6}, 1, 710);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {2, 6}, 1, 711);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {8, 2}, 1, 712);
  write_adapter(dir / "adapter", lora_config(2, 2), {a, b});
  // The same adapter with weights 1 and -1: the deltas cancel exactly in every element.
  (void)run_merge(dir / "base", {dir / "adapter", dir / "adapter"}, dir / "out",
                  combined(core::Combination::ties, 1, {1, -1}));
  const auto d = delta_double(a, b, 1.0);
  std::vector<double> positive(d.size());
  for (std::size_t e = 0; e < d.size(); ++e) {
    positive[e] = std::fabs(d[e]);
  }
  check_close(plus(w, positive), read_tensors(dir / "out" / "model.safetensors").at("l.q.weight"), "ties");
}

TEST_CASE("DARE drops with probability 1 - density, rescales the rest, and a seed makes it reproducible")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("l.q.weight", DType::F32, {64, 64}, 1, 720);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a = random_tensor("base_model.model.l.q.lora_A.weight", DType::F32, {4, 64}, 1, 721);
  const Tensor b = random_tensor("base_model.model.l.q.lora_B.weight", DType::F32, {64, 4}, 1, 722);
  write_adapter(dir / "adapter", lora_config(4, 4), {a, b});
  const auto merge = [&](const char* out, std::uint64_t seed) {
    (void)run_merge(dir / "base", {dir / "adapter"}, dir / out, combined(core::Combination::dare_linear, 0.5, {}, seed));
    return read_tensors(dir / out / "model.safetensors").at("l.q.weight");
  };
  const auto first = merge("s7", 7);
  CHECK(merge("s7-again", 7).values == first.values);
  CHECK(merge("s8", 8).values != first.values);
  // Every element is the base's (dropped) or base + delta / 0.5 (kept); about half are kept.
  const auto d = delta_double(a, b, 1.0);
  std::size_t kept = 0;
  std::size_t neither = 0;
  for (std::size_t e = 0; e < d.size(); ++e) {
    const double got = static_cast<double>(first.values[e]) - w.values[e];
    if (std::fabs(got) <= 1e-5 * (1 + std::fabs(w.values[e]))) {
      continue;
    }
    if (std::fabs(got - d[e] / 0.5) <= 1e-4 * (1 + std::fabs(d[e]))) {
      ++kept;
    } else {
      ++neither;
    }
  }
  CHECK(neither == 0);
  CHECK(kept > d.size() * 45 / 100);
  CHECK(kept < d.size() * 55 / 100);
  // check re-derives it with the same seed, and not with another.
  consolidate::CheckRequest request;
  request.inputs.base = dir / "base";
  request.inputs.adapters = {dir / "adapter"};
  request.inputs.dtype = DType::F32;
  request.inputs.combination = core::Combination::dare_linear;
  request.inputs.density = 0.5;
  request.inputs.seed = 7;
  request.merged = dir / "s7";
  CHECK(consolidate::check_models(request, false).check.ok());
  request.inputs.seed = 8;
  CHECK_FALSE(consolidate::check_models(request, false).check.ok());
}

TEST_CASE("DoRA on an embedding takes the norm per embedding dimension and scales the columns")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("embed.weight", DType::F32, {10, 6}, 1, 800); // [tokens, dim]
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor a = random_tensor("base_model.model.embed.lora_embedding_A", DType::F32, {2, 10}, 1, 801);
  const Tensor b = random_tensor("base_model.model.embed.lora_embedding_B", DType::F32, {6, 2}, 1, 802);
  const Tensor m = random_tensor("base_model.model.embed.lora_magnitude_vector", DType::F32, {6}, 1, 803);
  auto config = lora_config(2, 4); // scaling 2
  config["target_modules"] = {"embed"};
  config["use_dora"] = true;
  write_adapter(dir / "adapter", config, {a, b, m});
  (void)run_merge(dir / "base", {dir / "adapter"}, dir / "out");
  // W' = W + 2 (B @ A)^T, then each column j times m[j] / ||W'[:, j]||.
  auto expected = reference_linear(w, a, b, 2.0, true);
  scale_by_magnitude(expected, m.values, 10, true);
  check_close(expected, read_tensors(dir / "out" / "model.safetensors").at("embed.weight"), "dora embedding");
}

TEST_CASE("tied embeddings: an adapter on the input embedding merges, one on a head the base does not store is refused")
{
  test::ScratchDir dir;
  const Tensor embed = random_tensor("model.embed_tokens.weight", DType::F32, {12, 6}, 1, 900);
  const Tensor q = random_tensor("model.q.weight", DType::F32, {6, 6}, 1, 901);
  write_tensors(dir / "tied" / "model.safetensors", {embed, q});
  test::write_text(dir / "tied" / "config.json", R"({"model_type": "llama", "tie_word_embeddings": true})");
  // On the input embedding: merged; transformers ties the head to it on load, as in PEFT.
  const Tensor ea = random_tensor("base_model.model.model.embed_tokens.lora_embedding_A", DType::F32, {2, 12}, 1, 902);
  const Tensor eb = random_tensor("base_model.model.model.embed_tokens.lora_embedding_B", DType::F32, {6, 2}, 1, 903);
  auto config = lora_config(2, 2);
  config["target_modules"] = {"embed_tokens"};
  write_adapter(dir / "on-input", config, {ea, eb});
  (void)run_merge(dir / "tied", {dir / "on-input"}, dir / "merged");
  const auto merged = read_tensors(dir / "merged" / "model.safetensors");
  check_close(reference_linear(embed, ea, eb, 1.0, true), merged.at("model.embed_tokens.weight"), "embedding");
  CHECK(merged.count("lm_head.weight") == 0);
  // On the head, which the base does not store: refused with the reason.
  const Tensor ha = random_tensor("base_model.model.lm_head.lora_A.weight", DType::F32, {2, 6}, 1, 904);
  const Tensor hb = random_tensor("base_model.model.lm_head.lora_B.weight", DType::F32, {12, 2}, 1, 905);
  config["target_modules"] = {"lm_head"};
  write_adapter(dir / "on-head", config, {ha, hb});
  const auto refused = [&](const fs::path& base, const char* cause) {
    try {
      (void)run_merge(base, {dir / "on-head"}, dir / "out");
      FAIL("expected a refusal");
    } catch (const Error& error) {
      CHECK(error.code() == ExitCode::malformed);
      CHECK_MESSAGE(std::string(error.what()).find(cause) != std::string::npos, error.what());
    }
    CHECK_FALSE(fs::exists(dir / "out"));
  };
  refused(dir / "tied", "the base ties its output head to the input embeddings and stores only "
                        "model.embed_tokens.weight");
  // A head stored although the config ties it would be replaced on load: refused too.
  const Tensor head = random_tensor("lm_head.weight", DType::F32, {12, 6}, 1, 906);
  write_tensors(dir / "tied-stored" / "model.safetensors", {embed, q, head});
  test::write_text(dir / "tied-stored" / "config.json", R"({"tie_word_embeddings": true})");
  refused(dir / "tied-stored", "lm_head.weight: config.json ties it to model.embed_tokens.weight");
  // Untied, with its own head: an ordinary merge.
  test::write_text(dir / "tied-stored" / "config.json", R"({"tie_word_embeddings": false})");
  (void)run_merge(dir / "tied-stored", {dir / "on-head"}, dir / "untied");
  check_close(reference_linear(head, ha, hb, 1.0, false),
              read_tensors(dir / "untied" / "model.safetensors").at("lm_head.weight"), "head");
}

TEST_CASE("DoRA with a plain LoRA on one weight: each DoRA norm on the unmerged weight, the same in both orders")
{
  test::ScratchDir dir;
  const Tensor w = random_tensor("d.weight", DType::F32, {6, 5}, 1, 950);
  write_tensors(dir / "base" / "model.safetensors", {w});
  const Tensor la = random_tensor("base_model.model.d.lora_A.weight", DType::F32, {2, 5}, 1, 951);
  const Tensor lb = random_tensor("base_model.model.d.lora_B.weight", DType::F32, {6, 2}, 1, 952);
  auto config = lora_config(2, 2);
  config["target_modules"] = {"d"};
  write_adapter(dir / "lora", config, {la, lb});
  const Tensor da = random_tensor("base_model.model.d.lora_A.weight", DType::F32, {2, 5}, 1, 953);
  const Tensor db = random_tensor("base_model.model.d.lora_B.weight", DType::F32, {6, 2}, 1, 954);
  const Tensor m = random_tensor("base_model.model.d.lora_magnitude_vector", DType::F32, {6}, 1, 955);
  config["use_dora"] = true;
  write_adapter(dir / "dora", config, {da, db, m});
  // W0 + dL + (f (W0 + dD) - W0), f = m / ||W0 + dD|| per output row, in double.
  const auto dl = delta_double(la, lb, 1.0);
  const auto dd = delta_double(da, db, 1.0);
  std::vector<float> expected(w.values.size());
  for (std::size_t o = 0; o < 6; ++o) {
    double norm = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      const double v = static_cast<double>(w.values[o * 5 + i]) + dd[o * 5 + i];
      norm += v * v;
    }
    const double f = m.values[o] / std::sqrt(norm);
    for (std::size_t i = 0; i < 5; ++i) {
      const double w0 = w.values[o * 5 + i];
      expected[o * 5 + i] = static_cast<float>(w0 + dl[o * 5 + i] + (f * (w0 + dd[o * 5 + i]) - w0));
    }
  }
  (void)run_merge(dir / "base", {dir / "lora", dir / "dora"}, dir / "lora-first");
  (void)run_merge(dir / "base", {dir / "dora", dir / "lora"}, dir / "dora-first");
  check_close(expected, read_tensors(dir / "lora-first" / "model.safetensors").at("d.weight"), "lora first");
  check_close(expected, read_tensors(dir / "dora-first" / "model.safetensors").at("d.weight"), "dora first");
  // Only linearly.
  CHECK_THROWS_AS((void)run_merge(dir / "base", {dir / "lora", dir / "dora"}, dir / "ties",
                                  combined(core::Combination::ties, 0.5)),
                  Error);
}
