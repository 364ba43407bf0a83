// make bench, last step: gathers the rows every benchmark wrote into bench/results/latest.json,
// prints the table with each target beside the measured value, and draws throughput against
// data size with gnuplot (bench/results/throughput.png) when gnuplot is installed.
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

void plot(const json& curve, const fs::path& dir)
{
  const fs::path data = dir / "throughput.dat";
  {
    std::ofstream out(data);
    out << "# MB create verify backup_tar_zst cp\n";
    for (const auto& p : curve) {
      out << p.value("mb", 0.0) << ' ' << p.value("create_mb_s", 0.0) << ' ' << p.value("verify_mb_s", 0.0)
          << ' ' << p.value("backup_tar_zst_mb_s", 0.0) << ' ' << p.value("cp_mb_s", 0.0) << '\n';
    }
  }
  const fs::path script = dir / "throughput.gp";
  {
    std::ofstream out(script);
    out << "set terminal pngcairo size 900,540 noenhanced\n"
        << "set output '" << (dir / "throughput.png").string() << "'\n"
        << "set title 'modelkeep throughput against data size (2 cores)'\n"
        << "set xlabel 'data size (MiB)'\nset ylabel 'MiB/s'\nset logscale x 2\nset key below\nset grid\nset "
           "yrange [0:*]\n"
        << "plot '" << data.string()
        << "' using 1:3 with linespoints title 'model-versioner verify (cached)', \\\n"
        << "     '' using 1:2 with linespoints title 'model-versioner create (copy, hash, fsync)', \\\n"
        << "     '' using 1:4 with linespoints title 'backup-manager backup tar.zst (incl. read-back "
           "verification)', \\\n"
        << "     '' using 1:5 with linespoints dashtype 2 title 'cp -r (reference)'\n";
  }
  const std::string command = "gnuplot '" + script.string() + "' 2>/dev/null";
  if (std::system(command.c_str()) == 0) {
    std::printf("plot: %s\n", (dir / "throughput.png").c_str());
  } else {
    std::printf("plot skipped: gnuplot is not installed (scripts/install-deps.sh --bench)\n");
  }
}

} // namespace

int main(int argc, char** argv)
{
  const fs::path dir = argc > 1 ? argv[1] : "bench/results";
  json latest = {{"rows", json::array()}};
  json curve;
  for (const char* name : {"store", "merge", "list", "record", "serve"}) {
    const json doc = read_json(dir / (std::string(name) + ".json"));
    if (!doc.is_object()) {
      continue;
    }
    latest[name] = doc;
    for (const auto& row : doc.value("rows", json::array())) {
      latest["rows"].push_back(row);
    }
    if (doc.contains("throughput")) {
      curve = doc["throughput"];
    }
  }
  std::printf("\n| work | reference | seconds | reference s | ratio | target | met "
              "|\n|---|---|---|---|---|---|---|\n");
  int missed = 0;
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
    std::printf("\n| HTTP API on loopback (wrk, 16 connections) | requests/s | p99 ms |\n|---|---|---|\n");
    for (const auto& row : latest["serve"].value("requests", json::array())) {
      std::printf("| %s | %s | %s |\n", row.value("work", "").c_str(),
                  number(row["requests_per_second"], "%.0f").c_str(), number(row["p99_ms"], "%.2f").c_str());
    }
  }
  std::ofstream(dir / "latest.json") << latest.dump(2) << '\n';
  if (curve.is_array()) {
    plot(curve, dir);
  }
  std::printf("%d of %zu targets missed; results in %s\n", missed, latest["rows"].size(),
              (dir / "latest.json").c_str());
  return 0;
}
