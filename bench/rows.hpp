#pragma once

// The rows every benchmark writes for the report (bench/report.cpp): one line of the table
// in docs/performance.md, with the measured time, the reference's and the target.
#include "run_process.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace modelkeep::bench {

/// One measured piece of work against its reference.
struct Row {
  std::string work;
  std::string reference;                ///< empty when the target is absolute
  double seconds = 0;                   ///< median of the runs
  double reference_seconds = 0;         ///< median of the reference's runs
  std::optional<double> target_ratio;   ///< seconds / reference_seconds must be at most this
  std::optional<double> target_seconds; ///< or seconds must be at most this
  std::optional<double> peak_rss_mb;    ///< when memory is part of the target
  std::optional<double> target_rss_mb;
  int runs = 0;

  [[nodiscard]] double ratio() const { return reference_seconds > 0 ? seconds / reference_seconds : 0; }
  [[nodiscard]] bool met() const
  {
    bool ok = true;
    if (target_ratio) {
      ok = ok && ratio() <= *target_ratio;
    }
    if (target_seconds) {
      ok = ok && seconds <= *target_seconds;
    }
    if (target_rss_mb && peak_rss_mb) {
      ok = ok && *peak_rss_mb <= *target_rss_mb;
    }
    return ok;
  }
  [[nodiscard]] nlohmann::json to_json() const
  {
    const auto opt = [](std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"work", work},
            {"reference", reference},
            {"seconds", seconds},
            {"reference_seconds", reference_seconds},
            {"ratio", reference_seconds > 0 ? nlohmann::json(ratio()) : nlohmann::json(nullptr)},
            {"target_ratio", opt(target_ratio)},
            {"target_seconds", opt(target_seconds)},
            {"peak_rss_mb", opt(peak_rss_mb)},
            {"target_rss_mb", opt(target_rss_mb)},
            {"met", met()},
            {"runs", runs}};
  }
};

inline double median(std::vector<double> values)
{
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/// Runs `argv` `runs` times (calling `prepare` and sync(2) before each run, untimed) and returns the
/// median seconds and the largest peak RSS.
inline ProcessRun median_run(const std::vector<std::string>& argv, int runs,
                             const std::function<void()>& prepare = {})
{
  std::vector<double> seconds;
  double peak = 0;
  for (int i = 0; i < runs; ++i) {
    if (prepare) {
      prepare();
    }
    // Writeback left over from the preparation (or the previous run) must not land in this run.
    ::sync();
    const auto run = run_process(argv, true);
    seconds.push_back(run.seconds);
    peak = std::max(peak, run.peak_rss_mb);
  }
  return {median(seconds), peak};
}

/// Prints the rows and writes them (with `extra` fields) to `path`.
inline void write_rows(const std::filesystem::path& path, const std::vector<Row>& rows,
                       nlohmann::json extra = nlohmann::json::object())
{
  std::printf("\n%-58s %9s %9s %7s %8s\n", "work", "seconds", "ref s", "ratio", "target");
  nlohmann::json list = nlohmann::json::array();
  for (const auto& row : rows) {
    char target[32] = "-";
    if (row.target_ratio) {
      std::snprintf(target, sizeof target, "<= %.2f", *row.target_ratio);
    } else if (row.target_seconds) {
      std::snprintf(target, sizeof target, "<= %.2fs", *row.target_seconds);
    }
    std::printf("%-58s %9.3f %9.3f %7.3f %8s %s\n", row.work.c_str(), row.seconds, row.reference_seconds,
                row.ratio(), target, row.met() ? "" : "MISSED");
    list.push_back(row.to_json());
  }
  extra["rows"] = list;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << extra.dump(2) << '\n';
}

} // namespace modelkeep::bench
