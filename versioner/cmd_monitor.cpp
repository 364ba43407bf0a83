#include "app/observation_args.hpp"
#include "commands.hpp"
#include "commands/monitor.hpp"
#include "core/layout/events.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/monitor.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

using nlohmann::json;

/// The options of every monitor subcommand; the thresholds (and the stage every subcommand
/// names) are the command layer's own, --auto-rollback on/off apart.
struct MonitorArgs {
  commands::ThresholdOptions set;
  std::optional<std::string> auto_rollback;
  app::ObservationArgs observation;
  bool all_stages = false;
};

std::string num(double value)
{
  char text[64];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

void print_thresholds(const std::string& stage, const core::Thresholds& t)
{
  std::cout << "thresholds for " << stage << ":\n"
            << "  min accuracy          " << num(t.min_accuracy) << '\n'
            << "  max error rate        " << num(t.max_error_rate) << '\n'
            << "  max mean latency      " << num(t.max_latency_ms) << " ms\n"
            << "  min mean confidence   " << num(t.min_confidence) << '\n'
            << "  max accuracy drop     " << num(t.max_accuracy_drop) << '\n'
            << "  max drift PSI         " << num(t.max_drift_psi) << '\n'
            << "  window                " << t.window << " predictions\n"
            << "  consecutive failures  " << t.consecutive_failures << '\n'
            << "  auto-rollback         " << (t.auto_rollback ? "on" : "off") << '\n';
}

void run_thresholds(const MonitorArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  commands::ThresholdOptions set = args.set;
  if (args.auto_rollback) {
    set.auto_rollback = *args.auto_rollback == "on";
  }
  const auto result = commands::monitor_thresholds(context.session(), set);
  context.emit(result.to_json(), [&] { print_thresholds(result.stage, result.thresholds); });
}

void run_record(const MonitorArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto observation = args.observation.observation();
  const auto outcome = commands::monitor_record(context.session(), args.set.stage, observation);
  context.emit(outcome.to_json(), [&] {
    if (outcome.trigger) {
      std::cout << outcome.message() << '\n';
    }
    for (const auto& hook : outcome.hooks) {
      std::cout << "  hook " << hook.hook << ": " << hook.outcome << '\n';
    }
  });
}

struct Row {
  std::string name;
  std::string observed;
  std::string threshold;
  bool breached;
};

void run_status(const MonitorArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto status = commands::monitor_status(context.session(), args.set.stage);
  context.emit_data(status.to_json(), [&] {
    if (!status.version) {
      std::cout << args.set.stage << " points to no version\n";
      return;
    }
    const auto& w = status.window;
    const auto& t = status.thresholds;
    std::cout << args.set.stage << ": " << *status.version << ", " << status.recorded
              << " predictions recorded, window " << w.predictions << "/" << t.window
              << (w.predictions < t.window ? " (window triggers wait for a full window)" : "") << '\n';
    std::vector<Row> rows;
    const auto opt = [](std::optional<double> v) { return v ? num(*v) : std::string("-"); };
    rows.push_back({"accuracy", opt(w.accuracy), ">= " + num(t.min_accuracy),
                    w.accuracy && *w.accuracy < t.min_accuracy});
    rows.push_back(
        {"error rate", num(w.error_rate), "<= " + num(t.max_error_rate), w.error_rate > t.max_error_rate});
    rows.push_back({"mean latency ms", opt(w.mean_latency_ms), "<= " + num(t.max_latency_ms),
                    w.mean_latency_ms && *w.mean_latency_ms > t.max_latency_ms});
    rows.push_back({"mean confidence", opt(w.mean_confidence), ">= " + num(t.min_confidence),
                    w.mean_confidence && *w.mean_confidence < t.min_confidence});
    rows.push_back({"drift PSI", opt(w.mean_psi), "<= " + num(t.max_drift_psi),
                    w.mean_psi && *w.mean_psi > t.max_drift_psi});
    if (status.baseline_accuracy && w.accuracy) {
      const double drop = *status.baseline_accuracy - *w.accuracy;
      rows.push_back({"accuracy drop vs " + status.baseline_version.value_or("?"), num(drop),
                      "< " + num(t.max_accuracy_drop), drop >= t.max_accuracy_drop});
    }
    for (const auto& row : rows) {
      std::printf("  %-40s %10s  %-10s %s\n", row.name.c_str(), row.observed.c_str(), row.threshold.c_str(),
                  row.breached ? "BREACHED" : "ok");
    }
    if (!status.fired.is_null()) {
      std::cout << "fired: " << status.fired.value("description", "") << " at "
                << status.fired.value("time", "") << '\n';
    }
    std::cout << "auto-rollback " << (t.auto_rollback ? "on" : "off") << '\n';
  });
}

void run_history(const MonitorArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const json events = commands::monitor_history(
      context.session(), args.all_stages ? std::nullopt : std::optional<std::string>(args.set.stage));
  context.emit_data({{"rollbacks", events}}, [&] {
    if (events.empty()) {
      std::cout << "no rollbacks" << (args.all_stages ? "" : " of " + args.set.stage) << '\n';
      return;
    }
    for (const auto& event : events) {
      const bool automatic = event.value("automatic", false);
      const std::string reason = event.value("reason", "");
      if (core::is_event(event, core::EventKind::rollback)) {
        std::cout << event.value("time", "") << "  " << event.value("stage", "") << ": "
                  << (event["from"].is_string() ? event["from"].get<std::string>() : "(none)") << " -> "
                  << event.value("to", "") << (automatic ? "  automatic" : "  manual")
                  << (reason.empty() ? "" : "  (" + reason + ")") << '\n';
      } else {
        std::cout << event.value("time", "") << "  " << event.value("stage", "") << ": "
                  << event.value("version", "") << "  alert, not rolled back (" << reason << "; "
                  << event.value("note", "") << ")\n";
      }
    }
  });
}

} // namespace

void add_monitor(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<MonitorArgs>();
  auto* monitor =
      app.add_subcommand("monitor", "Watch what a stage serves and roll a bad version back on its own: "
                                    "thresholds, record, status, history");
  monitor->require_subcommand(1);
  monitor->fallthrough();

  auto* thresholds =
      monitor->add_subcommand("thresholds", "Show the stage's thresholds, or set the ones given");
  thresholds->add_option("--stage", args->set.stage, "Stage (default production)");
  thresholds->add_option("--min-accuracy", args->set.min_accuracy,
                         "Window accuracy below this fires (default 0.80)");
  thresholds->add_option("--max-error-rate", args->set.max_error_rate,
                         "Window error rate above this fires (default 0.05)");
  thresholds->add_option("--max-latency-ms", args->set.max_latency_ms,
                         "Window mean latency above this fires (default 200)");
  thresholds->add_option("--min-confidence", args->set.min_confidence,
                         "Window mean confidence below this fires (default 0.60)");
  thresholds->add_option("--window", args->set.window, "Predictions per window (default 100)");
  thresholds->add_option("--consecutive-failures", args->set.consecutive_failures,
                         "This many failures in a row fire at once (default 3)");
  thresholds->add_option("--max-accuracy-drop", args->set.max_accuracy_drop,
                         "Accuracy this far below the previous version's fires (default 0.15)");
  thresholds->add_option("--max-drift-psi", args->set.max_drift_psi,
                         "Window mean PSI above this fires (default 0.25)");
  thresholds
      ->add_option("--auto-rollback", args->auto_rollback,
                   "on: roll back when a trigger fires (default); off: alert only")
      ->check(CLI::IsMember({"on", "off"}));
  thresholds->callback([args, &options] { run_thresholds(*args, options); });

  auto* record =
      monitor->add_subcommand("record", "Record one prediction against the version the stage serves "
                                        "now and evaluate the triggers");
  record->add_option("--stage", args->set.stage, "Stage (default production)");
  app::add_observation_options(record, args->observation, true);
  record->callback([args, &options] { run_record(*args, options); });

  auto* status = monitor->add_subcommand("status", "The current window's figures against the thresholds");
  status->add_option("--stage", args->set.stage, "Stage (default production)");
  status->callback([args, &options] { run_status(*args, options); });

  auto* history =
      monitor->add_subcommand("history", "Rollbacks (automatic and manual) and alerts of the stage");
  history->add_option("--stage", args->set.stage, "Stage (default production)");
  history->add_flag("--all-stages", args->all_stages, "Every stage's rollbacks");
  history->callback([args, &options] { run_history(*args, options); });
}

} // namespace modelkeep::versioner
