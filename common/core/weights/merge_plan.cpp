#include "core/weights/merge_plan.hpp"

#include "core/weights/numeric.hpp"
#include "util/enum_names.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>

#include <map>
#include <set>

namespace modelkeep::core {

bool TensorPlan::untouched() const
{
  return base != nullptr && deltas.empty() && bias_deltas.empty() && !dora && replacement == nullptr &&
         out_dtype == base->dtype;
}

namespace {

std::string strip_first(const std::string& name)
{
  const auto dot = name.find('.');
  return dot == std::string::npos ? std::string() : name.substr(dot + 1);
}

/// Collects problems so that one run reports all of them.
class Planner {
public:
  Planner(const BaseModel& base, const std::vector<Adapter>& adapters, const MergeOptions& options)
      : m_base(base), m_adapters(adapters), m_options(options)
  {
    for (const auto& name : base.tensor_names()) {
      m_names.insert(name);
      m_by_stripped[strip_first(name)].push_back(name);
    }
  }

  MergePlan run();

private:
  /// The base tensor for a name from an adapter, or "" (with a problem noted).
  std::string resolve(const std::string& wanted, const std::string& who, bool must_exist = true);
  /// For an output head that the base does not store: the input embedding it is tied to (when
  /// config.json ties them or does not say), else "".
  [[nodiscard]] std::string tied_input_embedding(const std::string& wanted) const;
  TensorPlan& plan_for(const std::string& name);
  void add_module(std::size_t adapter, const LoraModule& module);
  void add_linear(std::size_t adapter, const LoraModule& module, TensorPlan& plan, Delta& delta);
  void add_replacement(std::size_t adapter, const Replacement& replacement);
  void problem(const std::string& text) { m_problems.push_back(text); }

  const BaseModel& m_base;
  const std::vector<Adapter>& m_adapters;
  const MergeOptions& m_options;
  std::set<std::string> m_names;
  std::map<std::string, std::vector<std::string>> m_by_stripped;
  std::map<std::string, TensorPlan> m_plans;
  std::vector<TensorPlan> m_added;
  std::vector<ModuleReport> m_reports;
  std::vector<std::string> m_problems;
};

std::string Planner::resolve(const std::string& wanted, const std::string& who, bool must_exist)
{
  std::set<std::string> found;
  for (const auto& candidate : {wanted, strip_first(wanted)}) {
    if (!candidate.empty() && m_names.count(candidate) != 0) {
      found.insert(candidate);
    }
  }
  if (const auto it = m_by_stripped.find(wanted); it != m_by_stripped.end()) {
    found.insert(it->second.begin(), it->second.end());
  }
  if (found.size() == 1) {
    return *found.begin();
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& name : found) {
      list += (list.empty() ? "" : ", ") + name;
    }
    problem(who + ": " + wanted + " is ambiguous in the base (" + list + ")");
  } else if (must_exist) {
    if (const std::string embedding = tied_input_embedding(wanted); !embedding.empty()) {
      problem(who + ": the base ties its output head to the input embeddings and stores only " + embedding +
              ": merging into " + wanted + " would change the input embeddings too (merged models are "
              "reported to collapse this way); untie the base first (store the head's own weight and set "
              "tie_word_embeddings to false in config.json) or train without the head in target_modules");
    } else {
      problem(who + ": no base tensor " + wanted + " (also tried without and with a leading component)");
    }
  }
  return {};
}

std::string Planner::tied_input_embedding(const std::string& wanted) const
{
  static constexpr std::string_view k_heads[] = {"lm_head.weight", "embed_out.weight", "output.weight"};
  static constexpr std::string_view k_inputs[] = {"embed_tokens.weight", "wte.weight", "embed_in.weight",
                                                  "word_embeddings.weight", "tok_embeddings.weight"};
  const bool head = std::any_of(std::begin(k_heads), std::end(k_heads), [&](std::string_view h) {
    return wanted == h || wanted.ends_with("." + std::string(h));
  });
  if (!head || m_base.ties_embeddings() == std::optional<bool>(false)) {
    return {};
  }
  for (const auto& name : m_names) {
    if (std::any_of(std::begin(k_inputs), std::end(k_inputs),
                    [&](std::string_view in) { return name.ends_with(in); })) {
      return name;
    }
  }
  return {};
}

TensorPlan& Planner::plan_for(const std::string& name)
{
  auto [it, inserted] = m_plans.try_emplace(name);
  if (inserted) {
    const auto [shard, info] = m_base.find(name);
    it->second.name = name;
    it->second.base = info;
    it->second.shard = shard;
    it->second.out_dtype = info->dtype;
    it->second.out_shape = info->shape;
  }
  return it->second;
}

void Planner::add_linear(std::size_t, const LoraModule& module, TensorPlan& plan, Delta& delta)
{
  const auto& a = module.a->shape;
  const auto& b = module.b->shape;
  const auto& w = plan.base->shape;
  const std::string who = "module " + module.module;
  if (a.size() != 2 || b.size() != 2 || a[0] != b[1]) {
    problem(who + ": lora_A " + shape_text(a) + " and lora_B " + shape_text(b) + " do not multiply");
    return;
  }
  const std::uint64_t out = b[0];
  const std::uint64_t in = a[1];
  if (w.size() != 2) {
    problem(who + ": base tensor " + plan.name + " " + shape_text(w) + " is not a matrix");
    return;
  }
  const bool fits_normal = w[0] == out && w[1] == in;
  const bool fits_transposed = w[0] == in && w[1] == out;
  const bool prefer_transposed =
      m_adapters[delta.adapter].config().fan_in_fan_out || m_base.model_type() == "gpt2";
  if (fits_normal && fits_transposed) {
    delta.transposed = prefer_transposed;
  } else if (fits_normal || fits_transposed) {
    delta.transposed = fits_transposed;
  } else {
    problem(who + ": delta [" + std::to_string(out) + ", " + std::to_string(in) + "] fits base tensor " +
            plan.name + " " + shape_text(w) + " in neither orientation");
  }
}

void Planner::add_module(std::size_t adapter, const LoraModule& module)
{
  const std::string who = "module " + module.module;
  const std::string target = resolve(module.module + ".weight", who);
  if (target.empty()) {
    return;
  }
  TensorPlan& plan = plan_for(target);
  const double weight = adapter < m_options.weights.size() ? m_options.weights[adapter] : 1.0;
  Delta delta{adapter, &module, module.scaling * weight * m_options.scale, false};
  const auto& w = plan.base->shape;
  if (!is_mergeable(plan.base->dtype)) {
    problem(who + ": base tensor " + target + " has dtype " + std::string(dtype_name(plan.base->dtype)) +
            ", which cannot be merged");
    return;
  }
  switch (module.kind) {
  case LoraKind::linear:
    add_linear(adapter, module, plan, delta);
    break;
  case LoraKind::embedding: {
    const auto& a = module.a->shape;
    const auto& b = module.b->shape;
    if (a.size() != 2 || b.size() != 2 || a[0] != b[1] || w.size() != 2 || w[0] != a[1] || w[1] != b[0]) {
      problem(who + ": embedding factors " + shape_text(a) + ", " + shape_text(b) + " do not fit " + target +
              " " + shape_text(w));
    }
    delta.transposed = true;
    break;
  }
  case LoraKind::conv: {
    const auto& a = module.a->shape;
    const auto& b = module.b->shape;
    const bool ok = a.size() == 4 && b.size() == 4 && b[2] == 1 && b[3] == 1 && a[0] == b[1] &&
                    w.size() == 4 && w[0] == b[0] && w[1] == a[1] && w[2] == a[2] && w[3] == a[3];
    if (!ok) {
      problem(who + ": conv factors " + shape_text(a) + ", " + shape_text(b) + " do not fit " + target + " " +
              shape_text(w));
    }
    break;
  }
  }
  if (module.magnitude != nullptr) {
    // An embedding [tokens, dim] keeps one magnitude per embedding dimension (PEFT's
    // DoraEmbeddingLayer: the norm over the tokens, the factor applied as a row vector).
    const std::uint64_t out = delta.transposed || module.kind == LoraKind::embedding ? w[1] : w[0];
    if (m_adapters.size() > 1 && m_options.combination != Combination::linear) {
      problem(who + ": a DoRA adapter combines with others only linearly (--combination linear)");
    } else if (module.magnitude->numel() != out) {
      problem(who + ": DoRA magnitude " + shape_text(module.magnitude->shape) + " does not match " +
              std::to_string(out) + " outputs");
    }
    plan.dora = delta;
  }
  if (module.bias != nullptr) {
    const std::string bias_name = resolve(module.module + ".bias", who);
    if (!bias_name.empty()) {
      TensorPlan& bias_plan = plan_for(bias_name);
      if (bias_plan.base->numel() != module.bias->numel()) {
        problem(who + ": lora_B.bias " + shape_text(module.bias->shape) + " does not fit " + bias_name);
      }
      bias_plan.bias_deltas.push_back(delta);
    }
  }
  plan.deltas.push_back(delta);
  const auto [rank, alpha] = m_adapters[adapter].config().rank_alpha(module.module);
  static const char* k_kinds[] = {"linear", "embedding", "conv"};
  m_reports.push_back({adapter, module.module, target, k_kinds[static_cast<int>(module.kind)], module.scaling,
                       rank, alpha, delta.transposed});
}

void Planner::add_replacement(std::size_t adapter, const Replacement& replacement)
{
  const std::string who = "tensor " + replacement.tensor->name;
  const std::string target = resolve(replacement.target, who, false);
  if (target.empty()) {
    if (std::none_of(m_problems.begin(), m_problems.end(),
                     [&](const std::string& p) { return p.rfind(who, 0) == 0; })) {
      TensorPlan added;
      added.name = replacement.target;
      added.shard = m_base.shards().size() - 1;
      added.out_dtype = replacement.tensor->dtype;
      added.out_shape = replacement.tensor->shape;
      added.replacement = replacement.tensor;
      added.replacement_adapter = adapter;
      m_added.push_back(added);
    }
    return;
  }
  TensorPlan& plan = plan_for(target);
  if (plan.replacement != nullptr) {
    problem(who + ": " + target + " is replaced by two adapters");
    return;
  }
  if (plan.base->shape != replacement.tensor->shape) {
    if (!m_options.allow_resize) {
      problem(who + ": shape " + shape_text(replacement.tensor->shape) + " differs from " + target + " " +
              shape_text(plan.base->shape) + " (pass --allow-resize to accept)");
      return;
    }
    plan.out_shape = replacement.tensor->shape;
  }
  if (!is_mergeable(plan.base->dtype) && plan.base->dtype != replacement.tensor->dtype) {
    problem(who + ": cannot cast " + std::string(dtype_name(replacement.tensor->dtype)) + " to " +
            std::string(dtype_name(plan.base->dtype)));
    return;
  }
  plan.replacement = replacement.tensor;
  plan.replacement_adapter = adapter;
}

MergePlan Planner::run()
{
  for (std::size_t i = 0; i < m_adapters.size(); ++i) {
    for (const auto& module : m_adapters[i].modules()) {
      add_module(i, module);
    }
    for (const auto& replacement : m_adapters[i].replacements()) {
      add_replacement(i, replacement);
    }
  }
  for (const auto& [name, plan] : m_plans) {
    if (plan.replacement != nullptr && !plan.deltas.empty()) {
      problem("tensor " + name + " is both replaced and LoRA-merged");
    }
    // A head stored although config.json ties it: transformers would load the input embeddings
    // in its place and the merge into it would be lost without a word.
    if (!plan.deltas.empty() && m_base.ties_embeddings() == std::optional<bool>(true)) {
      if (const std::string embedding = tied_input_embedding(name); !embedding.empty() && embedding != name) {
        problem(name + ": config.json ties it to " + embedding +
                " (tie_word_embeddings), so transformers would load the input embeddings in its place and "
                "the merged head would be lost; set tie_word_embeddings to false first");
      }
    }
  }
  if (!m_problems.empty()) {
    // A base of another architecture gives a problem per module: the summary first, then the
    // first few, not a screenful.
    static constexpr std::size_t k_shown = 20;
    std::string text = "cannot merge: " + util::plural(m_problems.size(), "problem") +
                       (m_problems.size() > k_shown ? " (is this adapter for this base model?)" : "");
    for (std::size_t i = 0; i < m_problems.size() && i < k_shown; ++i) {
      text += "\n  " + m_problems[i];
    }
    if (m_problems.size() > k_shown) {
      text += "\n  ... and " + std::to_string(m_problems.size() - k_shown) + " more";
    }
    throw Error(ExitCode::malformed, text);
  }
  MergePlan merge;
  merge.modules = m_reports;
  merge.combination = m_options.combination;
  merge.density = m_options.density;
  merge.seed = m_options.seed;
  merge.shards.resize(m_base.shards().size());
  for (std::size_t s = 0; s < m_base.shards().size(); ++s) {
    for (const auto& tensor : m_base.shards()[s].tensors()) {
      auto it = m_plans.find(tensor.name);
      TensorPlan plan = it != m_plans.end() ? it->second : TensorPlan{};
      if (it == m_plans.end()) {
        plan.name = tensor.name;
        plan.base = &tensor;
        plan.shard = s;
        plan.out_dtype = tensor.dtype;
        plan.out_shape = tensor.shape;
      }
      if ((!plan.deltas.empty() || !plan.bias_deltas.empty()) && m_options.dtype) {
        plan.out_dtype = *m_options.dtype;
      }
      merge.merged_tensors += plan.deltas.empty() && plan.bias_deltas.empty() ? 0 : 1;
      merge.replaced_tensors += plan.replacement != nullptr ? 1 : 0;
      merge.shards[s].push_back(plan);
    }
  }
  for (auto& added : m_added) {
    merge.shards.back().push_back(added);
    ++merge.added_tensors;
  }
  for (const auto& shard : merge.shards) {
    for (const auto& plan : shard) {
      std::uint64_t n = dtype_size(plan.out_dtype);
      for (const auto dim : plan.out_shape) {
        n *= dim;
      }
      merge.output_bytes += n;
    }
  }
  return merge;
}

} // namespace

namespace {

/// Refuses a quantized base: adding a float delta to packed integers or FP8 codes with their
/// scales is not what PEFT does (it dequantizes, merges, and quantizes again, which changes
/// every weight), and a plain add would corrupt the model.
void refuse_quantized(const BaseModel& base)
{
  const std::string advice =
      ": merge into the unquantized base model (the BF16/FP16/FP32 checkpoint it was made from), then "
      "quantize the merged model";
  if (!base.quantization().empty()) {
    throw Error(ExitCode::malformed,
                "the base model is quantized (" + base.quantization() + ", config.json quantization_config)" + advice);
  }
  static constexpr std::string_view k_quantized_suffixes[] = {
      ".qweight", ".qzeros", ".g_idx", ".scales", ".SCB", ".weight_scale", ".weight_scale_inv", ".absmax",
      ".quant_map", ".quant_state.bitsandbytes__nf4", ".quant_state.bitsandbytes__fp4"};
  for (const auto& shard : base.shards()) {
    for (const auto& tensor : shard.tensors()) {
      const bool fp8 = tensor.dtype == DType::F8_E4M3 || tensor.dtype == DType::F8_E5M2;
      const bool packed = std::any_of(std::begin(k_quantized_suffixes), std::end(k_quantized_suffixes),
                                      [&](std::string_view suffix) { return tensor.name.ends_with(suffix); });
      if (fp8 || packed) {
        throw Error(ExitCode::malformed, "the base model is quantized (tensor " + tensor.name + " is " +
                                             (fp8 ? std::string(dtype_name(tensor.dtype)) : "quantization state") +
                                             ")" + advice);
      }
    }
  }
}

} // namespace

Combination parse_combination(std::string_view text)
{
  if (const auto found = util::parse_enum<Combination>(k_combination_names, text)) {
    return *found;
  }
  throw Error(ExitCode::usage, "invalid combination '" + util::printable(text) + "': use " +
                                   util::choices(k_combination_names));
}

MergePlan plan_merge(const BaseModel& base, const std::vector<Adapter>& adapters, const MergeOptions& options)
{
  if (!(options.density > 0 && options.density <= 1)) {
    throw Error(ExitCode::usage, "--density must be in (0, 1]");
  }
  refuse_quantized(base);
  return Planner(base, adapters, options).run();
}

} // namespace modelkeep::core
