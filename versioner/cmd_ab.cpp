#include "app/observation_args.hpp"
#include "commands.hpp"
#include "commands/ab.hpp"
#include "core/layout/names.hpp"
#include "core/stages/promotion.hpp"
#include "core/telemetry/ab.hpp"
#include "core/versions/refs.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

using nlohmann::json;

/// The options of every ab subcommand: create's and conclude's are the command layer's own.
struct AbArgs {
  std::string id;
  commands::AbCreateOptions create;
  commands::AbConcludeOptions conclude;
  std::string user;
  std::string variant;
  app::ObservationArgs observation;
};

std::string fixed(double value, int places = 3)
{
  return util::fixed(value, places);
}

std::string p_text(double p)
{
  return util::significant(p, 3);
}

std::string opt_text(std::optional<double> value, int places = 3)
{
  return value ? fixed(*value, places) : "-";
}

/// A concluded test's result as lines: the winner and its evidence, then the promotion.
void print_result(const json& result)
{
  if (!result.is_object()) {
    return;
  }
  const auto number = [&](const char* key) {
    const auto it = result.find(key);
    return it != result.end() && it->is_number() ? fixed(it->get<double>()) : std::string("-");
  };
  const auto count = [&](const char* key) {
    const auto it = result.find(key);
    return it != result.end() && it->is_number_unsigned() ? std::to_string(it->get<std::uint64_t>()) : "-";
  };
  const std::string winner = result.value("winner", json()).is_string() ? result["winner"].get<std::string>()
                                                                        : "none (no significant difference)";
  std::cout << "winner:      " << winner << '\n'
            << "metric:      " << result.value("metric", "-") << ": control " << number("control") << " ("
            << count("control_samples") << " samples), treatment " << number("treatment") << " ("
            << count("treatment_samples") << " samples)\n"
            << "evidence:    z " << number("z") << ", p " << number("p_value")
            << (result.value("significant", false) ? ", significant at 0.05" : ", not significant at 0.05")
            << (result.value("target_reached", false) ? "; target samples reached" : "") << '\n';
  if (const auto promotion = result.find("promotion"); promotion != result.end() && promotion->is_object()) {
    std::cout << "promotion:   " << promotion->value("stage", "?") << " -> " << promotion->value("version", "?")
              << '\n';
  }
}

void print_test(const core::AbTest& t)
{
  std::cout << "test:        " << t.id << (t.name.empty() ? "" : " (" + t.name + ")") << '\n'
            << "status:      " << core::to_string(t.status) << '\n'
            << "control:     " << t.control << '\n'
            << "treatment:   " << t.treatment << '\n'
            << "strategy:    " << core::to_string(t.strategy) << '\n'
            << "treatment share: " << fixed(t.treatment_share()) << '\n';
  if (!t.description.empty()) {
    std::cout << "description: " << t.description << '\n';
  }
  if (t.target_samples > 0) {
    std::cout << "target:      " << t.target_samples << " samples per variant\n";
  }
  std::cout << "created:     " << t.created << '\n';
  if (!t.started.empty()) {
    std::cout << "started:     " << t.started << '\n';
  }
  if (!t.concluded.empty()) {
    std::cout << "concluded:   " << t.concluded << '\n';
  }
}

void run_create(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto created = commands::ab_create(context.session(), args.create);
  context.emit(created.to_json(), [&] {
    std::cout << "created A/B test " << created.id << ": " << created.control << " (control) vs "
              << created.treatment << " (treatment), " << core::to_string(created.strategy)
              << ", treatment share " << fixed(created.treatment_share())
              << "; start it with: model-versioner ab start " << created.id << '\n';
  });
}

void run_start(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto test = commands::ab_start(context.session(), args.id);
  context.emit(test.to_json(), [&] { std::cout << "started A/B test " << test.id << '\n'; });
}

void run_canary(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::ab_canary(context.session(), args.id);
  context.emit(result.to_json(), [&] {
    std::cout << "canary share of " << result.test.id << ": " << fixed(result.before) << " -> "
              << fixed(result.test.canary_share) << '\n';
  });
}

void run_list(const GlobalOptions& options)
{
  const Context context(options);
  const auto tests = commands::ab_list(context.session());
  context.emit_data(commands::to_json(tests), [&] {
    if (tests.empty()) {
      std::cout << "no A/B tests\n";
      return;
    }
    std::printf("%-20s %-10s %-12s %-6s %-26s %s\n", "TEST", "STATUS", "STRATEGY", "SHARE", "CONTROL",
                "TREATMENT");
    for (const auto& t : tests) {
      std::printf("%-20s %-10s %-12s %-6s %-26s %s\n", t.id.c_str(),
                  std::string(core::to_string(t.status)).c_str(),
                  std::string(core::to_string(t.strategy)).c_str(), fixed(t.treatment_share()).c_str(),
                  t.control.c_str(), t.treatment.c_str());
    }
  });
}

void run_show(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto test = commands::ab_show(context.session(), args.id);
  context.emit_data(test.to_json(), [&] {
    print_test(test);
    print_result(test.result);
  });
}

void run_route(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto routed = commands::ab_route(context.session(), args.id, args.user);
  context.emit_data(routed.to_json(), [&] {
    std::cout << core::to_string(routed.route.variant) << '\t' << routed.route.version << '\t'
              << routed.route.adapter.string() << '\n';
  });
}

void run_record(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto observation = args.observation.observation();
  const auto variant = core::parse_variant(args.variant);
  context.emit(commands::ab_record(context.session(), args.id, variant, observation).to_json(), [] {});
}

void print_variant(const char* label, const std::string& version, const core::ObservationSummary& s)
{
  const std::string accuracy = s.accuracy ? fixed(*s.accuracy) + " [" + fixed(s.accuracy_interval.low) +
                                                ", " + fixed(s.accuracy_interval.high) + "]"
                                          : "-";
  std::printf("%-10s %11llu  %-22s %9s %9s %7s %6s  %s\n", label,
              static_cast<unsigned long long>(s.predictions), accuracy.c_str(),
              opt_text(s.mean_latency_ms, 1).c_str(), opt_text(s.p95_latency_ms, 1).c_str(),
              fixed(s.error_rate).c_str(), opt_text(s.mean_confidence).c_str(), version.c_str());
}

void run_status(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto status = commands::ab_status(context.session(), args.id);
  context.emit_data(commands::to_json(status), [&] {
    std::cout << status.test.id << " (" << core::to_string(status.test.status) << ", "
              << core::to_string(status.test.strategy) << ", treatment share "
              << fixed(status.test.treatment_share()) << ")\n";
    std::printf("%-10s %11s  %-22s %9s %9s %7s %6s  %s\n", "VARIANT", "PREDICTIONS", "ACCURACY [95% CI]",
                "LAT MEAN", "LAT P95", "ERRORS", "CONF", "VERSION");
    print_variant("control", status.test.control, status.control);
    print_variant("treatment", status.test.treatment, status.treatment);
  });
}

void run_conclude(const AbArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto result = commands::ab_conclude(context.session(), args.conclude);
  const auto& c = result.conclusion;
  context.emit(result.test.to_json(), [&] {
    std::cout << "concluded A/B test " << args.conclude.id << " on " << c.metric << ": control "
              << fixed(c.control_value) << " (n=" << c.control_samples << "), treatment "
              << fixed(c.treatment_value) << " (n=" << c.treatment_samples << ")\n";
    if (c.winner) {
      std::cout << "winner: " << core::to_string(*c.winner) << ", p = " << p_text(c.p_value)
                << (c.significant ? " (significant at 0.05)" : " (not significant at 0.05)") << '\n';
    } else {
      std::cout << "no winner: both variants have the same " << c.metric << '\n';
    }
    if (result.test.target_samples > 0) {
      std::cout << "target sample size " << result.test.target_samples
                << (c.target_reached ? " reached" : " not reached") << '\n';
    }
    if (!result.promotion.is_null()) {
      std::cout << (result.promotion.value("changed", false) ? "promoted " : "already on ")
                << result.promotion.value("version", "") << " to " << args.conclude.stage << '\n';
    } else if (args.conclude.promote_winner) {
      std::cout << "not promoted: the result is not significant\n";
    }
  });
}

} // namespace

void add_ab(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<AbArgs>();
  auto* ab = app.add_subcommand("ab", "A/B tests between two versions: create, start, route requests, record "
                                      "predictions, compare and conclude");
  ab->require_subcommand(1);
  ab->fallthrough();

  auto* create = ab->add_subcommand("create", "Create a draft A/B test between two versions");
  create->add_option("TEST_ID", args->create.id, "Test id: [a-z0-9][a-z0-9_.-]*")->required();
  create->add_option("--control", args->create.control, "The control version (number, id, stage or latest)")
      ->required();
  create->add_option("--treatment", args->create.treatment, "The treatment version")->required();
  create->add_option("--split", args->create.split, "The treatment's share of traffic (default 0.5)");
  create
      ->add_option("--strategy", args->create.strategy,
                   "random (by weight), round_robin (weighted, exact), sticky (a user always gets the same "
                   "variant) or canary (the treatment share grows by steps)")
      ->check(CLI::IsMember({"random", "round_robin", "sticky", "canary"}));
  create->add_option("--canary-step", args->create.canary_step,
                     "Canary: the first share and each raise (default 0.1)");
  create->add_option("--target-samples", args->create.target_samples,
                     "Samples per variant the test aims for");
  create->add_option("--name", args->create.name, "A name for people");
  create->add_option("--description", args->create.description, "What the test is about");
  create->callback([args, &options] { run_create(*args, options); });

  auto* start = ab->add_subcommand("start", "Start routing and recording for a draft test");
  start->add_option("TEST_ID", args->id, "The test")->required();
  start->callback([args, &options] { run_start(*args, options); });

  ab->add_subcommand("list", "Every A/B test with its status")->callback([&options] { run_list(options); });

  auto* show = ab->add_subcommand("show", "One test's settings and result");
  show->add_option("TEST_ID", args->id, "The test")->required();
  show->callback([args, &options] { run_show(*args, options); });

  auto* route = ab->add_subcommand("route", "Print the variant, version and adapter path for one request");
  route->add_option("TEST_ID", args->id, "The test")->required();
  route->add_option("--user", args->user, "The user (required by sticky; used by canary)");
  route->callback([args, &options] { run_route(*args, options); });

  auto* record = ab->add_subcommand("record", "Record one prediction of a variant");
  record->add_option("TEST_ID", args->id, "The test")->required();
  record->add_option("--variant", args->variant, "control or treatment")->required();
  app::add_observation_options(record, args->observation, false);
  record->callback([args, &options] { run_record(*args, options); });

  auto* status = ab->add_subcommand("status", "Per variant: predictions, accuracy with its 95% interval, "
                                              "latency mean and p95, error rate, confidence");
  status->add_option("TEST_ID", args->id, "The test")->required();
  status->callback([args, &options] { run_status(*args, options); });

  auto* conclude =
      ab->add_subcommand("conclude", "Judge the test (two-proportion z-test on accuracy, or on the "
                                     "error rate without feedback) and close it to records");
  conclude->add_option("TEST_ID", args->conclude.id, "The test")->required();
  conclude->add_flag("--promote-winner", args->conclude.promote_winner,
                     "Promote the winner if the result is significant");
  conclude->add_option("--stage", args->conclude.stage,
                       "The stage to promote the winner to (default production)");
  conclude->callback([args, &options] { run_conclude(*args, options); });

  auto* canary =
      ab->add_subcommand("canary", "Raise a canary test's treatment share by one step (at most 1.0)");
  canary->add_option("TEST_ID", args->id, "The test")->required();
  canary->callback([args, &options] { run_canary(*args, options); });
}

} // namespace modelkeep::versioner
