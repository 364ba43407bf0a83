#include "commands.hpp"
#include "operations.hpp"
#include "util/text.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::consolidate {

namespace {

struct CheckArgs {
  MergeInputFlags inputs;
  std::string merged;
  std::uint64_t max_ulp = 0;
};

void run(const CheckArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const CheckRequest request{to_inputs(args.inputs), args.merged, args.max_ulp};
  const auto checked = check_models(request, context.progress());
  const auto& c = checked.check;
  context.emit_data(checked.to_json(), [&] {
    std::cout << checked.merged.string() << ": " << util::plural(c.tensors, "tensor") << " compared, "
              << c.identical << " identical, " << c.within << " within " << checked.max_ulp_allowed
              << " ulp; worst " << c.max_ulp << " ulp"
              << (c.worst_tensor.empty() ? "" : " (" + c.worst_tensor + ", element " +
                                                      std::to_string(c.worst_element) + ")")
              << '\n';
    constexpr std::size_t k_shown = 20;
    for (std::size_t i = 0; i < c.differences.size() && i < k_shown; ++i) {
      const auto& d = c.differences[i];
      std::cout << "  " << d.kind << ": " << d.tensor << ": " << d.detail << '\n';
    }
    if (c.differences.size() > k_shown) {
      std::cout << "  ... and " << c.differences.size() - k_shown << " more\n";
    }
    std::cout << (c.ok() ? "OK: it is base + adapters as PEFT's merge_and_unload() gives them"
                         : "FAILED: " + util::plural(c.differences.size(), "difference"))
              << '\n';
  });
  checked.require_ok();
}

} // namespace

void add_check(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<CheckArgs>();
  auto* cmd = app.add_subcommand(
      "check", "Prove a merged model: is it exactly base + adapters (PEFT's merge_and_unload), tensor by "
               "tensor? Exit 0 only if every tensor is within --max-ulp");
  add_merge_inputs(*cmd, args->inputs, "The dtype the merge was asked for: keep (default), bf16, fp16, fp32");
  cmd->add_option("--merged", args->merged, "The merged model to check (a directory or a .safetensors file)")
      ->required();
  cmd->add_option("--max-ulp", args->max_ulp,
                  "Tolerance per element in units in the last place (default 0: bit for bit)");
  cmd->footer("Reports, tensor by tensor: identical, within N ulp (the worst tensor and element), or "
              "different (values beyond the tolerance, a tensor no adapter touches that changed, a missing "
              "or extra tensor, another dtype or shape). Reads one tensor at a time: memory stays at the "
              "merge's level whatever the model's size.");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::consolidate
