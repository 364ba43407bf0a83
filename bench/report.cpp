// make bench, last step: gathers the rows every benchmark wrote into bench/results/latest.json,
// prints the table with each target beside the measured value, and draws time against data size
// and against the number of versions with gnuplot (bench/results/size.png, versions.png; make
// bench copies them to docs/bench/) when gnuplot is installed.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& path)
{
  std::ifstream in(path);
  if (!in) {
    return json();
  }
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

std::string number(const json& value, const char* format)
{
  if (!value.is_number()) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, format, value.get<double>());
  return text;
}

/// A table cell: '|' would end it.
std::string cell(std::string text)
{
  for (std::size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) {
    text.replace(at, 1, "\\|");
  }
  return text;
}

std::string target_of(const json& row)
{
  std::string target;
  if (row["target_ratio"].is_number()) {
    target = "<= " + number(row["target_ratio"], "%.2f");
  } else if (row["target_seconds"].is_number()) {
    target = "<= " + number(row["target_seconds"], "%.3f") + " s";
  }
  if (row["target_rss_mb"].is_number()) {
    target +=
        (target.empty() ? "" : ", ") + std::string("RSS <= ") + number(row["target_rss_mb"], "%.0f") + " MB";
  }
  return target.empty() ? "-" : target;
}

/// Runs gnuplot on `script` (written to `dir`); false when gnuplot is missing.
bool gnuplot(const fs::path& dir, const std::string& name, const std::string& script)
{
  const fs::path path = dir / (name + ".gp");
  std::ofstream(path) << script;
  const std::string command = "gnuplot '" + path.string() + "' 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    std::printf("plot skipped: gnuplot is not installed (scripts/install-deps.sh --bench)\n");
    return false;
  }
  std::printf("plot: %s\n", (dir / (name + ".png")).c_str());
  return true;
}

/// Seconds against data size (create, verify, backup, merge, the durable copy) and against
/// the number of versions (list, catalog), both log-log: a straight line of slope 1 is linear
/// growth, anything steeper a bug to find.
void plot(const json& sizes, const json& merges, const json& versions, const fs::path& dir)
{
  {
    std::ofstream out(dir / "size.dat");
    out << "# MB create verify backup_tar_zst cp_sync\n";
    for (const auto& p : sizes) {
      out << p.value("mb", 0.0) << ' ' << p.value("create_s", 0.0) << ' ' << p.value("verify_s", 0.0) << ' '
          << p.value("backup_tar_zst_s", 0.0) << ' ' << p.value("cp_sync_s", 0.0) << '\n';
    }
    std::ofstream merged(dir / "merge.dat");
    merged << "# MB merge_s rss_mb\n";
    for (const auto& p : merges) {
      merged << p.value("mb", 0.0) << ' ' << p.value("merge_s", 0.0) << ' ' << p.value("merge_rss_mb", 0.0)
             << '\n';
    }
    std::ofstream listed(dir / "versions.dat");
    listed << "# versions list_s catalog_s\n";
    for (const auto& p : versions) {
      listed << p.value("versions", 0) << ' ' << p.value("list_s", 0.0) << ' ' << p.value("catalog_s", 0.0)
             << '\n';
    }
  }
  const std::string common = "set terminal pngcairo size 900,540 noenhanced\nset key below\nset grid\n"
                             "set logscale xy 2\n";
  const std::string data = (dir / "size.dat").string();
  if (!gnuplot(dir, "size",
               common + "set output '" + (dir / "size.png").string() +
                   "'\nset title 'time against data size (2 cores)'\nset xlabel 'data size (MiB)'\n"
                   "set ylabel 'seconds'\nplot '" + data +
                   "' using 1:2 with linespoints title 'model-versioner create (copy, hash, fsync)', \\\n"
                   "  '' using 1:3 with linespoints title 'model-versioner verify', \\\n"
                   "  '' using 1:4 with linespoints title 'backup-manager backup tar.zst (incl. read-back verification)', \\\n"
                   "  '" + (dir / "merge.dat").string() +
                   "' using 1:2 with linespoints title 'consolidate-model merge (BF16, rank 16)', \\\n"
                   "  '" + data + "' using 1:5 with linespoints dashtype 2 title 'cp -r && sync (reference)'\n")) {
    return;
  }
  (void)gnuplot(dir, "versions",
                common + "set output '" + (dir / "versions.png").string() +
                    "'\nset title 'time against the number of versions'\nset xlabel 'versions'\n"
                    "set ylabel 'seconds'\nset logscale x 10\nplot '" + (dir / "versions.dat").string() +
                    "' using 1:2 with linespoints title 'model-versioner list (one model)', \\\n"
                    "  '' using 1:3 with linespoints title 'model-versioner catalog (models of 10 versions)'\n");
}

} // namespace

int main(int argc, char** argv)
{
  const fs::path dir = argc > 1 ? argv[1] : "bench/results";
  json latest = {{"rows", json::array()}};
  json sizes = json::array();
  json merges = json::array();
  json versions = json::array();
  for (const char* name : {"store", "merge", "list", "record", "serve"}) {
    const json doc = read_json(dir / (std::string(name) + ".json"));
    if (!doc.is_object()) {
      continue;
    }
    latest[name] = doc;
    for (const auto& row : doc.value("rows", json::array())) {
      latest["rows"].push_back(row);
    }
    if (doc.contains("throughput") && doc["throughput"].is_array()) {
      sizes = doc["throughput"];
    }
    if (std::string(name) == "merge" && doc.contains("curve") && doc["curve"].is_array()) {
      merges = doc["curve"];
    }
    if (std::string(name) == "list" && doc.contains("curve") && doc["curve"].is_array()) {
      versions = doc["curve"];
    }
  }
  std::printf("\n| work | reference | seconds | reference s | ratio | target | met "
              "|\n|---|---|---|---|---|---|---|\n");
  int missed = 0;
  std::size_t targets = 0;
  for (const auto& row : latest["rows"]) {
    const bool met = row.value("met", false);
    missed += met ? 0 : 1;
    std::string work = row.value("work", "");
    if (row["peak_rss_mb"].is_number()) {
      work += " (peak RSS " + number(row["peak_rss_mb"], "%.0f") + " MB)";
    }
    std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", cell(work).c_str(),
                cell(row.value("reference", "")).c_str(), number(row["seconds"], "%.3f").c_str(),
                row.value("reference_seconds", 0.0) > 0 ? number(row["reference_seconds"], "%.3f").c_str()
                                                        : "-",
                number(row["ratio"], "%.3f").c_str(), target_of(row).c_str(), met ? "yes" : "**no**");
  }
  if (latest.contains("record")) {
    std::printf("\n| recording through the library | records/s | us/record |\n|---|---|---|\n");
    for (const auto& row : latest["record"].value("records", json::array())) {
      std::printf("| %s | %s | %s |\n", row.value("work", "").c_str(),
                  number(row["records_per_second"], "%.0f").c_str(),
                  number(row["us_per_record"], "%.1f").c_str());
    }
  }
  if (latest.contains("serve")) {
    std::printf("\n| HTTP API on loopback (wrk, 16 connections) | requests/s | p99 ms | target | met "
                "|\n|---|---|---|---|---|\n");
    for (const auto& row : latest["serve"].value("requests", json::array())) {
      // list and show have targets: at least 3,000 requests/s with a p99 of at most 20 ms.
      const std::string work = row.value("work", "");
      const bool targeted = work.find("(list)") != std::string::npos || work.find("(show)") != std::string::npos;
      const bool met = row.value("requests_per_second", 0.0) >= 3000 && row.value("p99_ms", 1e9) <= 20;
      missed += targeted && !met ? 1 : 0;
      targets += targeted ? 1 : 0;
      std::printf("| %s | %s | %s | %s | %s |\n", work.c_str(), number(row["requests_per_second"], "%.0f").c_str(),
                  number(row["p99_ms"], "%.2f").c_str(), targeted ? ">= 3000/s, p99 <= 20 ms" : "-",
                  targeted ? (met ? "yes" : "**no**") : "-");
    }
  }
  std::ofstream(dir / "latest.json") << latest.dump(2) << '\n';
  plot(sizes, merges, versions, dir);
  for (const auto& p : sizes) {
    std::printf("size %6.0f MB: create %.2f s, verify %.2f s, backup tar.zst %.2f s, cp -r && sync %.2f s\n",
                p.value("mb", 0.0), p.value("create_s", 0.0), p.value("verify_s", 0.0),
                p.value("backup_tar_zst_s", 0.0), p.value("cp_sync_s", 0.0));
  }
  for (const auto& p : merges) {
    std::printf("size %6.0f MB: merge %.2f s, peak RSS %.0f MB\n", p.value("mb", 0.0), p.value("merge_s", 0.0),
                p.value("merge_rss_mb", 0.0));
  }
  for (const auto& p : versions) {
    std::printf("%6d versions: list %.3f s, catalog %.3f s\n", p.value("versions", 0), p.value("list_s", 0.0),
                p.value("catalog_s", 0.0));
  }
  std::printf("%d of %zu targets missed; results in %s\n", missed, latest["rows"].size() + targets,
              (dir / "latest.json").c_str());
  return 0;
}
