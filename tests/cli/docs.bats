#!/usr/bin/env bats
# The README teaches every command: each subcommand --help lists is a row of the tool's
# command table, and each table is one block (a blank line inside ends a Markdown table, and
# the rows after it render as text).

load helpers

# table_rows SECTION_TITLE: the rows of the first table in the README section, up to the first
# line that is not a table row.
table_rows() {
  awk -v title="$1" '
    index($0, title) == 1 { in_section = 1; next }
    in_section && /^## / { exit }
    in_section && /^\|/ { in_table = 1; print; next }
    in_section && in_table { exit }
  ' "$MODELKEEP_SOURCE_DIR/README.md"
}

subcommands() { "$1" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}'; }

@test "every model-versioner subcommand is a row of its README table" {
  rows=$(table_rows '## `model-versioner` commands')
  [ -n "$rows" ]
  for name in $(subcommands "$MV"); do
    case "$name" in ab|monitor|serve) continue ;; esac # their own sections and tables
    grep -q "\`$name\b" <<< "$rows" || { echo "no row for $name in the model-versioner table"; return 1; }
  done
}

@test "every backup-manager subcommand is a row of its README table" {
  rows=$(table_rows '## `backup-manager` commands')
  [ -n "$rows" ]
  for name in $(subcommands "$BM"); do
    case "$name" in push|offsite) continue ;; esac # the off-machine copies section
    grep -q "^| \`$name\b" <<< "$rows" || { echo "no row for $name in the backup-manager table"; return 1; }
  done
}
