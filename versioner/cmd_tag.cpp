#include "commands.hpp"
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

bool valid_key(const std::string& key)
{
  return !key.empty() &&
         key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string::npos;
}

/// Rewrites a version's metadata with `change` applied to its tags, under the lock, and logs it.
void edit_tags(const GlobalOptions& options, const std::string& ref_text, core::EventKind event,
               const std::function<void(std::map<std::string, std::string>&)>& change,
               const nlohmann::json& detail)
{
  const Context context(options);
  const auto ref = core::VersionRef::parse(ref_text);
  const core::Store store = context.store();
  store.require_exists();
  const auto lock = context.lock(store, std::string(core::event_name(event)));
  const auto version = core::resolve_version(store, ref);
  auto meta = core::load_metadata(version.path);
  change(meta.tags);
  core::write_metadata(version.path, meta);
  nlohmann::json record = detail;
  record["version"] = version.name;
  core::append_event(store, event, record);
  core::refresh_indexes(store);
  context.emit({{"version", version.name}, {"tags", meta.tags}}, [&] {
    std::cout << version.name << ":";
    for (const auto& [key, value] : meta.tags) {
      std::cout << ' ' << key << '=' << value;
    }
    std::cout << '\n';
  });
}

void run_tag(const TagArgs& args, const GlobalOptions& options)
{
  std::map<std::string, std::string> added;
  for (const auto& item : args.items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || !valid_key(item.substr(0, eq))) {
      throw Error(ExitCode::usage, "invalid tag '" + item + "': use KEY=VALUE, KEY of [A-Za-z0-9_.-]");
    }
    added[item.substr(0, eq)] = item.substr(eq + 1);
  }
  edit_tags(options, args.ref, core::EventKind::tag,
            [&](std::map<std::string, std::string>& tags) {
              for (const auto& [key, value] : added) {
                tags[key] = value;
              }
            },
            {{"tags", added}});
}

void run_untag(const TagArgs& args, const GlobalOptions& options)
{
  edit_tags(options, args.ref, core::EventKind::untag,
            [&](std::map<std::string, std::string>& tags) {
              for (const auto& key : args.items) {
                if (tags.erase(key) == 0) {
                  throw Error(ExitCode::not_found, "no tag " + key + " on " + args.ref);
                }
              }
            },
            {{"keys", args.items}});
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
