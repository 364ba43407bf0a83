#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/versions/diff.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct DiffArgs {
  std::string a;
  std::string b;
  bool fail_on_breaking = false;
};

std::string number(const nlohmann::json& value)
{
  if (!value.is_number()) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value.get<double>());
  return text;
}

void print(const core::VersionDiff& diff, const std::string& a, const std::string& b)
{
  std::printf("diff %s -> %s\n", a.c_str(), b.c_str());
  if (diff.files.empty()) {
    std::printf("files: identical\n");
  }
  for (const auto& f : diff.files) {
    std::printf("%-8s %s (%s -> %s)\n", f.kind.c_str(), f.path.c_str(), util::human_size(f.old_size).c_str(),
                util::human_size(f.new_size).c_str());
    for (const auto& t : f.tensors) {
      if (t.kind == "values") {
        std::printf("  %s tensor %s: max |delta| %.6g, relative change %.6g\n", "        ", t.name.c_str(),
                    t.max_abs, t.rel_frobenius);
      } else {
        std::printf("  %s tensor %s %s %s\n", t.breaking ? "BREAKING" : "        ", t.name.c_str(),
                    t.kind.c_str(), t.detail.c_str());
      }
    }
    for (const auto& line : f.text_diff) {
      std::printf("    %s\n", line.c_str());
    }
  }
  std::printf("metrics:\n");
  for (const auto& [name, entry] : diff.metrics.items()) {
    if (entry["a"].is_null() && entry["b"].is_null()) {
      continue;
    }
    std::printf(
        "  %-20s %10s -> %-10s (%s)\n", name.c_str(), number(entry["a"]).c_str(), number(entry["b"]).c_str(),
        entry["delta"].is_null()
            ? "-"
            : (entry["delta"].get<double>() >= 0 ? "+" + number(entry["delta"]) : number(entry["delta"]))
                  .c_str());
  }
  if (diff.breaking.empty()) {
    std::printf("no breaking changes\n");
  } else {
    std::printf("BREAKING CHANGES (%zu):\n", diff.breaking.size());
    for (const auto& change : diff.breaking) {
      std::printf("  ! %s\n", change.c_str());
    }
  }
}

void run(const DiffArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::diff_versions(context.session(), args.a, args.b);
  context.emit_data(result.to_json(), [&] { print(result.diff, result.a, result.b); });
  if (args.fail_on_breaking && !result.diff.breaking.empty()) {
    throw Error(ExitCode::failed, std::to_string(result.diff.breaking.size()) + " breaking change(s) from " +
                                      result.a + " to " + result.b);
  }
}

} // namespace

void add_diff(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<DiffArgs>();
  auto* cmd =
      app.add_subcommand("diff", "Compare two versions: files, text diffs, tensors (max |delta|, relative "
                                 "change), metrics, and breaking changes");
  cmd->add_option("A", args->a, "The older version")->required();
  cmd->add_option("B", args->b, "The newer version")->required();
  cmd->add_flag("--fail-on-breaking", args->fail_on_breaking, "Exit 1 if there is a breaking change");
  cmd->callback([args, &options] { run(*args, options); });
}

} // namespace modelkeep::versioner
