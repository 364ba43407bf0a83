#pragma once

// Man pages and shell completion, generated from the same CLI11 definitions as --help so that
// they cannot drift: `<tool> --generate-man DIR` writes one page per command and subcommand
// (model-versioner.1, model-versioner-ab-create.1, ...), `<tool> --generate-completion bash`
// prints a bash completion script. The build runs both; `make install` installs the results.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace modelkeep::app {

/// Writes a roff page into `dir` for the tool and for every (nested) subcommand; returns how
/// many were written.
std::size_t write_man_pages(const CLI::App& app, const std::string& program, const std::string& version,
                            const std::filesystem::path& dir);

/// A bash completion script for the tool: subcommands and options at each level.
[[nodiscard]] std::string bash_completion(const CLI::App& app, const std::string& program);

} // namespace modelkeep::app
