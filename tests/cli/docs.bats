#!/usr/bin/env bats
# The docs teach every command: each subcommand --help lists is a row of the tool's command
# table in docs/, and each table is one block (a blank line inside ends a Markdown table, and
# the rows after it render as text).

load helpers

# table_rows PAGE: the rows of the first table of docs/PAGE, up to the first line that is not
# a table row.
table_rows() {
  awk '
    /^## / { exit }
    /^\|/ { in_table = 1; print; next }
    in_table { exit }
  ' "$MODELKEEP_SOURCE_DIR/docs/$1"
}

subcommands() { "$1" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}'; }

@test "the README is a one-page start whose links all lead somewhere" {
  local readme="$MODELKEEP_SOURCE_DIR/README.md"
  [ "$(wc -l < "$readme")" -le 130 ]
  grep -q '^make demo' "$readme"
  grep -q '^make test' "$readme"
  for link in $(grep -o '](docs/[^)]*)' "$readme" | sed 's/^](//; s/)$//'); do
    [ -f "$MODELKEEP_SOURCE_DIR/$link" ] || { echo "README links to missing $link"; return 1; }
  done
  for page in "$MODELKEEP_SOURCE_DIR"/docs/*.md; do
    for link in $(grep -o '](\([a-z][^):#]*\))' "$page" | sed 's/^](//; s/)$//'); do
      [ -e "$MODELKEEP_SOURCE_DIR/docs/$link" ] || { echo "$(basename "$page") links to missing $link"; return 1; }
    done
  done
}

@test "every model-versioner subcommand is a row of its docs table" {
  rows=$(table_rows model-versioner.md)
  [ -n "$rows" ]
  for name in $(subcommands "$MV"); do
    case "$name" in ab|monitor|serve) continue ;; esac # their own sections and tables
    grep -q "\`$name\b" <<< "$rows" || { echo "no row for $name in the model-versioner table"; return 1; }
  done
}

@test "every backup-manager subcommand is a row of its docs table" {
  rows=$(table_rows backup-manager.md)
  [ -n "$rows" ]
  for name in $(subcommands "$BM"); do
    case "$name" in push|offsite) continue ;; esac # the off-machine copies section
    grep -q "^| \`$name\b" <<< "$rows" || { echo "no row for $name in the backup-manager table"; return 1; }
  done
}

# every_command TOOL: "tool", "tool-sub", "tool-sub-subsub", ... for each command --help lists.
every_command() {
  local tool=$1 name sub
  echo "$(basename "$tool")"
  for name in $(subcommands "$tool"); do
    echo "$(basename "$tool")-$name"
    for sub in $("$tool" "$name" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}'); do
      echo "$(basename "$tool")-$name-$sub"
    done
  done
}

@test "every command and subcommand of the three tools has a man page, generated from --help's source" {
  local man="$MODELKEEP_BUILD_DIR/man" tools=("$MV" "$BM")
  [ -x "$MODELKEEP_BUILD_DIR/consolidate/consolidate-model" ] && tools+=("$MODELKEEP_BUILD_DIR/consolidate/consolidate-model")
  local count=0
  for tool in "${tools[@]}"; do
    for page in $(every_command "$tool"); do
      [ -f "$man/$page.1" ] || { echo "no man page $page.1"; return 1; }
      count=$((count + 1))
    done
  done
  [ "$count" -ge 50 ]
  # A page holds the subcommand's options and its own notes, as --help does.
  grep -q '^\.B \\-\\-keep UINT' "$man/model-versioner-gc.1"
  grep -q 'Files with no intact copy are reported' "$man/model-versioner-repair.1"
  grep -q '^\.TH MODEL-VERSIONER-AB-CREATE 1' "$man/model-versioner-ab-create.1"
  grep -q 'backup\\-manager\\-offsite\\-verify(1)' "$man/backup-manager-offsite.1"
  if command -v man >/dev/null; then
    run -0 man -l "$man/backup-manager-cleanup.1"
    assert_output_contains "--keep-last"
  fi
}

@test "a subcommand's --help keeps its own notes before the global options' line" {
  run -0 "$MV" repair --help
  assert_output_contains "Files with no intact copy are reported"
  assert_output_contains "Global options (--root"
  run -0 "$BM" cleanup --help
  assert_output_contains "Never deleted, whatever the policy"
}

@test "bash completion completes subcommands and their options at every level" {
  local script="$MODELKEEP_BUILD_DIR/completion/model-versioner"
  [ -f "$script" ]
  complete_words() { # complete_words WORD...: what the script offers for the last word
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _modelkeep_model_versioner; echo "${COMPREPLY[*]}"' \
      _ "$script" model-versioner "$@"
  }
  [ "$(complete_words ab cr)" = create ]
  [ "$(complete_words --json ab create --con)" = --control ]
  [ "$(complete_words l)" = "list lineage" ]
  [ "$(complete_words gc --ke)" = --keep ]
  [ "$(complete_words list --ro)" = --root ] # global options after the subcommand
  run -0 bash -c "source '$MODELKEEP_BUILD_DIR/completion/backup-manager'; complete -p backup-manager"
  run -2 "$BM" --generate-completion zsh
  assert_output_contains "only bash"
}
