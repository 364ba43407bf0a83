#include "commands.hpp"
#include "commands/versions.hpp"
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

void print_table(const commands::VersionList& list)
{
  std::printf("%-6s %-19s %6s %10s %8s %8s %-18s %-18s %s\n", "ID", "CREATED", "FILES", "SIZE", "STEPS",
              "LOSS", "STATUS", "MARKS", "DESCRIPTION");
  for (const auto& row : list.rows) {
    const std::string id = core::version_id(row.version.number);
    const std::string marks = list.marks_of(row);
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

void run(const std::optional<std::string>& tag, const GlobalOptions& options)
{
  const Context context(options);
  commands::ListOptions list_options;
  list_options.tag = tag;
  const auto list = commands::list_versions(context.session(), list_options);
  // The JSON document only when it is printed: 10,000 rows of it cost more than the table.
  context.emit_data(context.json() ? list.to_json() : nlohmann::json(), [&] {
    if (list.rows.empty()) {
      std::cout << "No versions found\n";
    } else {
      print_table(list);
    }
  });
  list.require_readable();
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
