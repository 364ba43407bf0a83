#include "commands.hpp"
#include "core/stages/promotion.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/refs.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

using Row = core::ListedVersion;

std::string loss_text(const std::optional<double>& loss)
{
  if (!loss) {
    return "-";
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", *loss);
  return buffer;
}

/// "latest", and every stage that points to the version.
std::string marks_of(const Row& row, const std::optional<std::string>& latest,
                     const std::map<std::string, std::string>& stages)
{
  std::string marks = latest == row.version.name ? "latest" : "";
  for (const auto& [stage, holder] : stages) {
    if (holder == row.version.name) {
      marks += (marks.empty() ? "" : ",") + stage;
    }
  }
  return marks;
}

nlohmann::json row_json(const Row& row, const std::optional<std::string>& latest,
                        const std::map<std::string, std::string>& stages)
{
  nlohmann::json item = {{"name", row.version.name},
                         {"id", core::version_id(row.version.number)},
                         {"latest", latest == row.version.name},
                         {"stages", nlohmann::json::array()}};
  for (const auto& [stage, holder] : stages) {
    if (holder == row.version.name) {
      item["stages"].push_back(stage);
    }
  }
  if (!row.summary) {
    item["error"] = row.error;
    return item;
  }
  item.update(row.summary->to_json());
  return item;
}

void print_table(const std::vector<Row>& rows, const std::optional<std::string>& latest,
                 const std::map<std::string, std::string>& stages)
{
  std::printf("%-6s %-19s %6s %10s %8s %8s %-18s %-18s %s\n", "ID", "CREATED", "FILES", "SIZE", "STEPS",
              "LOSS", "STATUS", "MARKS", "DESCRIPTION");
  for (const auto& row : rows) {
    const std::string id = core::version_id(row.version.number);
    const std::string marks = marks_of(row, latest, stages);
    if (!row.summary) {
      std::printf("%-6s %-19s %6s %10s %8s %8s %-18s %-18s %s\n", id.c_str(), "?", "?", "?", "?", "?", "?",
                  "broken", "(metadata.json unreadable, see error)");
      continue;
    }
    const auto& s = *row.summary;
    const std::string steps = s.steps ? std::to_string(*s.steps) : "-";
    std::printf("%-6s %-19s %6llu %10s %8s %8s %-18s %-18s %s\n", id.c_str(),
                util::readable_utc(s.created_at).c_str(), static_cast<unsigned long long>(s.file_count),
                util::human_size(s.total_size).c_str(), steps.c_str(), loss_text(s.final_loss).c_str(),
                s.status.c_str(), marks.c_str(), s.description.c_str());
  }
}

bool has_tag(const Row& row, const std::optional<std::string>& tag)
{
  if (!tag) {
    return true;
  }
  if (!row.summary) {
    return false;
  }
  const auto eq = tag->find('=');
  const auto it = row.summary->tags.find(tag->substr(0, eq));
  return it != row.summary->tags.end() && (eq == std::string::npos || it->second == tag->substr(eq + 1));
}

void run(const std::optional<std::string>& tag, const GlobalOptions& options)
{
  const Context context(options);
  const core::Store store = context.store();
  std::vector<Row> rows;
  for (auto& row : core::list_summaries(store)) {
    if (has_tag(row, tag)) {
      rows.push_back(std::move(row));
    }
  }
  const auto latest = core::read_latest_link(store);
  const auto stages = core::list_stages(store);
  // The JSON document only when it is printed: 10,000 rows of it cost more than the table.
  nlohmann::json doc = {
      {"root", store.root().string()}, {"model", store.model()}, {"versions", nlohmann::json::array()}};
  if (context.json()) {
    for (const auto& row : rows) {
      doc["versions"].push_back(row_json(row, latest, stages));
    }
  }
  context.emit(doc, [&] {
    if (rows.empty()) {
      std::cout << "No versions found\n";
    } else {
      print_table(rows, latest, stages);
    }
  });
  for (const auto& row : rows) {
    if (!row.summary) {
      throw Error(ExitCode::malformed, row.error);
    }
  }
}

} // namespace

void add_list(CLI::App& app, const GlobalOptions& options)
{
  auto* cmd = app.add_subcommand("list", "List all versions: id, created, files, size, steps, loss, status, "
                                         "marks (latest, stages), description");
  auto tag = std::make_shared<std::optional<std::string>>();
  cmd->add_option("--tag", *tag, "Only versions with this tag (KEY=VALUE, or KEY for any value)");
  cmd->callback([tag, &options] { run(*tag, options); });
}

} // namespace modelkeep::versioner
