#include "app/manual.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace modelkeep::app {

namespace {

namespace fs = std::filesystem;

/// `text` safe in roff: backslashes escaped, a leading '.' or '\'' neutralised, '-' literal.
std::string roff(const std::string& text)
{
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) {
      out += "\\&";
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string upper(std::string text)
{
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::vector<const CLI::Option*> visible_options(const CLI::App& app)
{
  return app.get_options([](const CLI::Option* option) { return !option->get_group().empty(); });
}

std::vector<const CLI::App*> subcommands_of(const CLI::App& app)
{
  std::vector<const CLI::App*> result;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    result.push_back(sub);
  }
  return result;
}

/// "--keep N", "-q, --quiet", "VERSION ...".
std::string option_synopsis(const CLI::Option& option)
{
  if (option.get_positional() && option.get_lnames().empty() && option.get_snames().empty()) {
    return option.get_name(true) + (option.get_expected_max() > 1 ? " ..." : "");
  }
  std::string names;
  for (const auto& name : option.get_snames()) {
    names += (names.empty() ? "-" : ", -") + name;
  }
  for (const auto& name : option.get_lnames()) {
    names += (names.empty() ? "--" : ", --") + name;
  }
  if (option.get_items_expected_max() > 0) {
    names += " " + option.get_type_name();
  }
  return names;
}

/// The first sentence (up to ';' or '.') of a description, for the NAME line.
std::string summary_of(const std::string& description)
{
  std::string line = description.substr(0, description.find('\n'));
  if (const auto colon = line.find(": "); colon != std::string::npos && colon < 40 &&
                                          line.compare(0, 5, "model") == 0) {
    line = line.substr(colon + 2); // "model-versioner: what it is" on the tool's page
  }
  return line;
}

std::string page(const CLI::App& app, const std::vector<std::string>& path, const std::string& version)
{
  std::string command;
  std::string page_name;
  for (const auto& word : path) {
    command += (command.empty() ? "" : " ") + word;
    page_name += (page_name.empty() ? "" : "-") + word;
  }
  std::ostringstream out;
  out << ".TH " << upper(page_name) << " 1 \"\" \"modelkeep " << version << "\" \"modelkeep manual\"\n";
  out << ".SH NAME\n" << roff(page_name) << " \\- " << roff(summary_of(app.get_description())) << '\n';
  out << ".SH SYNOPSIS\n.B " << roff(command) << '\n';
  const auto options = visible_options(app);
  const auto subs = subcommands_of(app);
  std::string synopsis = subs.empty() ? "" : "COMMAND ";
  for (const auto* option : options) {
    if (option->get_positional() && option->get_lnames().empty() && option->get_snames().empty()) {
      const std::string word = option_synopsis(*option);
      synopsis += option->get_required() ? word + " " : "[" + word + "] ";
    }
  }
  out << roff("[OPTIONS] " + synopsis) << "\n.SH DESCRIPTION\n" << roff(app.get_description()) << '\n';
  if (!options.empty()) {
    out << ".SH OPTIONS\n";
    for (const auto* option : options) {
      out << ".TP\n.B " << roff(option_synopsis(*option)) << '\n' << roff(option->get_description());
      if (option->get_required()) {
        out << " (required)";
      }
      if (!option->get_default_str().empty()) {
        out << roff(" (default: " + option->get_default_str() + ")");
      }
      out << '\n';
    }
  }
  if (!subs.empty()) {
    out << ".SH COMMANDS\n";
    for (const auto* sub : subs) {
      out << ".TP\n.B " << roff(sub->get_name()) << '\n'
          << roff(sub->get_description() + " See " + page_name + "-" + sub->get_name() + "(1).") << '\n';
    }
  }
  if (const std::string footer = app.get_footer(); !footer.empty()) {
    out << ".SH NOTES\n" << roff(footer) << '\n';
  }
  out << ".SH SEE ALSO\n";
  std::string also;
  std::string prefix;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    prefix += (prefix.empty() ? "" : "-") + path[i];
    also += (also.empty() ? "" : ", ") + prefix + "(1)";
  }
  out << roff(also.empty() ? "The README and docs/ of modelkeep, and --help of each command." : also) << '\n';
  return out.str();
}

void write_pages(const CLI::App& app, std::vector<std::string>& path, const std::string& version,
                 const fs::path& dir, std::size_t& count)
{
  std::string name;
  for (const auto& word : path) {
    name += (name.empty() ? "" : "-") + word;
  }
  util::write_file_atomic(dir / (name + ".1"), page(app, path, version));
  ++count;
  for (const auto* sub : subcommands_of(app)) {
    path.push_back(sub->get_name());
    write_pages(*sub, path, version, dir, count);
    path.pop_back();
  }
}

/// Every option word of `app` ("--keep", "-q").
std::string option_words(const CLI::App& app)
{
  std::string words;
  for (const auto* option : visible_options(app)) {
    for (const auto& name : option->get_snames()) {
      words += " -" + name;
    }
    for (const auto& name : option->get_lnames()) {
      words += " --" + name;
    }
  }
  return words;
}

/// The case arms of the completion function: for each command path, the words that may follow.
void completion_arms(const CLI::App& app, const std::string& path, const std::string& global,
                     std::vector<std::string>& steps, std::string& arms)
{
  std::string words;
  for (const auto* sub : subcommands_of(app)) {
    words += " " + sub->get_name();
    steps.push_back("\"" + path + "/" + sub->get_name() + "\"");
  }
  words += option_words(app);
  if (!path.empty()) {
    words += global;
  }
  arms += "    \"" + path + "\") words=\"" + words.substr(words.empty() ? 0 : 1) + "\" ;;\n";
  for (const auto* sub : subcommands_of(app)) {
    completion_arms(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), global, steps, arms);
  }
}

} // namespace

std::size_t write_man_pages(const CLI::App& app, const std::string& program, const std::string& version,
                            const fs::path& dir)
{
  util::create_directories(dir);
  std::vector<std::string> path{program};
  std::size_t count = 0;
  write_pages(app, path, version, dir, count);
  return count;
}

std::string bash_completion(const CLI::App& app, const std::string& program)
{
  std::string function = "_modelkeep_" + program;
  std::replace(function.begin(), function.end(), '-', '_');
  std::vector<std::string> known;
  std::string arms;
  // The global options, accepted after any subcommand too (not --help and --version twice).
  std::string global;
  for (const auto* option : visible_options(app)) {
    for (const auto& name : option->get_lnames()) {
      if (name != "help" && name != "version") {
        global += " --" + name;
      }
    }
    for (const auto& name : option->get_snames()) {
      if (name != "h") {
        global += " -" + name;
      }
    }
  }
  completion_arms(app, "", global, known, arms);
  // Each "PATH/WORD" is a step into a subcommand: "/ab" then "ab/create" -> path "ab create".
  std::string steps;
  for (const auto& step : known) {
    steps += (steps.empty() ? "" : "|") + step;
  }
  std::ostringstream out;
  out << "# bash completion for " << program << " (generated by " << program
      << " --generate-completion bash)\n"
      << function << "()\n{\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} path= word words i\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    word=${COMP_WORDS[i]}\n"
      << "    case \"$path/$word\" in\n"
      << "      " << steps << ") path=${path:+$path }$word ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  case \"$path\" in\n"
      << arms << "  esac\n"
      << "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      << "}\n"
      << "complete -o default -F " << function << ' ' << program << '\n';
  return out.str();
}

} // namespace modelkeep::app
