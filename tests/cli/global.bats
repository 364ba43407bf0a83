#!/usr/bin/env bats
# Global options, help, version, usage errors and the JSON error document.

load helpers

@test "--version and --help" {
  run -0 mv_ --version
  [[ "$output" =~ ^model-versioner\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
  run -0 mv_ --help
  assert_output_contains "Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused for safety, 5 store locked"
  for cmd in create list show restore delete verify; do
    run -0 mv_ "$cmd" --help
    assert_output_contains "Global options"
  done
  run -0 mv_ create --help
  assert_output_contains "--allow-duplicate"
}

@test "usage errors exit 2 with the tool's error prefix" {
  run -2 mv_
  run -2 mv_ frobnicate
  run -2 mv_ list --no-such-flag
  assert_output_contains "model-versioner: error:"
  run -2 mv_ list --lock-timeout -1
  # Bad names and references are echoed readably: control characters escaped.
  mv_ create --adapter adapter --description one -q
  run -2 mv_ show $'v1\a'
  assert_output_contains "invalid version 'v1\\x07'"
  run -2 mv_ --model $'bad\e[31m' list
  assert_output_contains "'bad\\x1b[31m'"
}

@test "--json turns an error into one JSON document on stdout" {
  run -3 --separate-stderr mv_ --json show 7
  [ "$(echo "$output" | jq -r .ok)" = false ]
  [ "$(echo "$output" | jq -r .exit_code)" = 3 ]
  [[ "$stderr" == "model-versioner: error: no "* ]]
}

@test "every --json document is an object with ok and schema_version, errors included" {
  mv_ create --adapter adapter --description one -q
  mv_ ab create exp --control 1 --treatment 1 -q 2>/dev/null || true
  bm backup adapter -q >/dev/null
  for cmd in "list" "show 1" "verify" "next" "history" "catalog" "gc --keep 5" "ab list" "monitor history" "lineage 1"; do
    # shellcheck disable=SC2086
    run -0 mv_ $cmd --json
    [ "$(jq -r '[.ok, .schema_version] | @tsv' <<< "$output")" = "$(printf 'true\t1')" ] || { echo "$cmd: $output"; return 1; }
  done
  for cmd in "list" "verify --all" "cleanup --keep-last 5"; do
    # shellcheck disable=SC2086
    run -0 bm $cmd --json
    [ "$(jq -r '[.ok, .schema_version] | @tsv' <<< "$output")" = "$(printf 'true\t1')" ] || { echo "bm $cmd: $output"; return 1; }
  done
  run -3 --separate-stderr mv_ show 9 --json
  [ "$(jq -r '[.ok, .schema_version, .exit_code] | @tsv' <<< "$output")" = "$(printf 'false\t1\t3')" ]
  # gc and cleanup give their reasons under one name.
  [ "$(mv_ gc --keep 5 --json | jq -r '.versions[0].reasons[0]')" = "one of the newest 5" ]
}

@test "a failed verify with --json prints exactly one document" {
  mv_ create --adapter adapter --description one
  echo junk > "$(version_dir 1)/metadata.json"
  run -1 --separate-stderr mv_ verify --json
  [ "$(echo "$output" | jq -s length)" = 1 ]
}

@test "-q silences notes but keeps the id" {
  run -0 --separate-stderr mv_ -q create --adapter adapter --description one
  [ "$output" = v001 ]
  [ -z "$stderr" ]
}

@test "the root defaults to ./models" {
  unset MODELKEEP_ROOT
  run -0 mv_ create --adapter adapter --description one
  [ -d "$WORK/models/versions" ]
}

@test "the store is found from the working directory upward, as git finds .git" {
  mv_ create --adapter adapter --description one -q
  "$MV" --model team/a create --adapter adapter --description named -q
  "$BM" backup adapter -q >/dev/null
  v1=$(version_dir 1)
  unset MODELKEEP_ROOT
  mkdir -p train/data/deeper
  # From a training directory below the one holding models/, and from inside the store.
  (cd train/data/deeper && "$MV" list --json) > list.json
  [ "$(jq -r .root list.json)" = "$WORK/models" ]
  [ "$(jq -r '.versions | length' list.json)" = 1 ]
  (cd "$v1/adapter" && "$BM" list --json) > backups.json
  [ "$(jq -r '.backups | length' backups.json)" = 1 ]
  # Inside a named model's directory: that model.
  (cd models/team/a/versions && "$MV" list --json) > named.json
  [ "$(jq -r .model named.json)" = team/a ]
  [ "$(jq -r '.versions[0].description' named.json)" = named ]
  # --model still chooses; --root and MODELKEEP_ROOT win over what is found.
  (cd models/team/a && "$MV" --model default list --json) > default.json
  [ "$(jq -r .model default.json)" = default ]
  cd train
  run -3 "$MV" --root "$WORK/nowhere" list
  MODELKEEP_ROOT="$WORK/nowhere" run -3 "$MV" list
  assert_output_contains "$WORK/nowhere"
}

@test "-q silences notes and confirmations, never the data a read command was asked for" {
  mv_ create --adapter adapter --description one -q
  bm backup adapter -q >/dev/null
  run -0 mv_ -q list; assert_output_contains "one"
  run -0 mv_ show 1 -q; assert_output_contains "description"
  run -0 mv_ -q catalog; assert_output_contains "default"
  run -0 mv_ -q history; assert_output_contains "create"
  run -0 bm -q list; assert_output_contains "emergency"
  # ... while a write stays quiet but for what scripts need.
  touch_adapter
  run -0 --separate-stderr mv_ create --adapter adapter --description two -q
  [ "$output" = v002 ] && [ -z "$stderr" ]
  run -0 --separate-stderr mv_ promote 2 -q
  [ -z "$output" ]
}

@test "help COMMAND is COMMAND --help; an unknown command names the nearest one" {
  run -0 mv_ help create
  assert_output_contains "Usage: model-versioner create"
  run -0 mv_ help ab conclude
  assert_output_contains "Usage: model-versioner ab conclude"
  run -2 mv_ lst
  assert_output_contains "unknown command 'lst'; did you mean 'list'?"
  run -2 mv_ --root "$WORK/models" ab lsit
  assert_output_contains "did you mean 'ab list'?"
  run -2 bm offsite frget
  assert_output_contains "did you mean 'offsite forget'?"
  run -2 mv_ frobnicate
  assert_output_contains "unknown command 'frobnicate' (see model-versioner --help)"
}

@test "a config file's unknown keys are warned about with its path; a syntax error says where" {
  mv_ create --adapter adapter --description one -q
  printf '{"lnk": "copy", "offsite": {"pasword_file": "p"}, "link": "copy"}\n' > models/.modelkeep/config.json
  touch_adapter
  run -0 --separate-stderr mv_ create --adapter adapter --description two
  [[ "$stderr" == *"warning: $WORK/models/.modelkeep/config.json: unknown keys lnk, offsite.pasword_file (ignored; known: link,"* ]]
  [ "$(grep -c 'unknown key' <<< "$stderr")" = 1 ]
  printf '{"link": "copy",\n  "auto_promote": {"metric": "f1"},\n}\n' > models/.modelkeep/config.json
  touch_adapter
  run -6 mv_ create --adapter adapter --description three
  assert_output_contains "config.json: line 3, column 1: syntax error"
  printf '["copy"]\n' > models/.modelkeep/config.json
  touch_adapter
  run -6 mv_ create --adapter adapter --description three
  assert_output_contains "the top level must be an object"
}
