#include "commands.hpp"
#include "commands/versions.hpp"
#include "core/layout/events.hpp"
#include "core/versions/indexes.hpp"
#include "core/versions/list_index.hpp"
#include "core/versions/version_ops.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <iostream>
#include <memory>

namespace modelkeep::versioner {

namespace {

struct TagArgs {
  std::string ref;
  std::vector<std::string> items;
};

void print(const commands::TagChange& change)
{
  std::cout << change.version << ":";
  for (const auto& [key, value] : change.tags) {
    std::cout << ' ' << key << '=' << value;
  }
  std::cout << '\n';
}

void run_tag(const TagArgs& args, const GlobalOptions& options)
{
  std::map<std::string, std::string> added;
  for (const auto& item : args.items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw Error(ExitCode::usage, "invalid tag '" + item + "': use KEY=VALUE, KEY of [A-Za-z0-9_.-]");
    }
    added[item.substr(0, eq)] = item.substr(eq + 1);
  }
  const Context context(options);
  const auto change = commands::tag_version(context.session(), args.ref, added);
  context.emit(change.to_json(), [&] { print(change); });
}

void run_untag(const TagArgs& args, const GlobalOptions& options)
{
  const Context context(options);
  const auto change = commands::untag_version(context.session(), args.ref, args.items);
  context.emit(change.to_json(), [&] { print(change); });
}

} // namespace

void add_tag(CLI::App& app, const GlobalOptions& options)
{
  auto args = std::make_shared<TagArgs>();
  auto* cmd = app.add_subcommand("tag", "Label a version with KEY=VALUE tags (list --tag KEY=VALUE filters)");
  cmd->add_option("VERSION", args->ref, "The version")->required();
  cmd->add_option("TAGS", args->items, "KEY=VALUE ...")->required();
  cmd->callback([args, &options] { run_tag(*args, options); });

  auto untag_args = std::make_shared<TagArgs>();
  auto* untag = app.add_subcommand("untag", "Remove tags from a version");
  untag->add_option("VERSION", untag_args->ref, "The version")->required();
  untag->add_option("KEYS", untag_args->items, "KEY ...")->required();
  untag->callback([untag_args, &options] { run_untag(*untag_args, options); });
}

} // namespace modelkeep::versioner
