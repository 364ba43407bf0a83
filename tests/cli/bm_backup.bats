#!/usr/bin/env bats
# backup-manager backup, list and restore: round trips in every format.

load helpers

@test "backup prints the path of a verified backup with its record" {
  run -0 --separate-stderr bm backup adapter --type pre_consolidation --reason "before merge"
  path=$output
  [[ "$path" == "$WORK/models/backups/pre_consolidation/adapter_"* ]]
  [ "$(tree_sum "$path/data")" = "$(tree_sum adapter)" ]
  [ "$(jq -r .verification.result "$path/backup.json")" = verified ]
  [ "$(jq -r .reason "$path/backup.json")" = "before merge" ]
  [ "$(jq -r .source "$path/backup.json")" = "$WORK/adapter" ]
  [ "$(jq -r '.critical_files | join(",")' "$path/backup.json")" = "adapter_config.json,adapter_model.safetensors" ]
  [ "$(jq -r '.verification.checks | join(",")' "$path/backup.json")" = "file_count,total_size,critical_files,file_sizes,sha256" ]
}

@test "round trips in every format" {
  mkdir -p adapter/sub && echo nested > adapter/sub/notes.txt && chmod 600 adapter/sub/notes.txt
  for format in dir tar tar.zst; do
    path=$(bm backup adapter --format "$format" -q)
    case $format in dir) [ -d "$path/data" ] ;; tar) [ -f "$path/data.tar" ] ;; tar.zst) [ -f "$path/data.tar.zst" ] ;; esac
    run -0 bm restore "$path" "out-$format"
    [ "$(tree_sum "out-$format")" = "$(tree_sum adapter)" ]
    [ "$(stat -c %a "out-$format/sub/notes.txt")" = 600 ]
  done
}

@test "archives are real tar and zstd files" {
  path=$(bm backup adapter --format tar.zst --level 9 -q)
  zstd -dc "$path/data.tar.zst" | tar -tf - | sort > listed
  [ "$(cat listed)" = "$(printf 'adapter_config.json\nadapter_model.safetensors')" ]
}

@test "list shows type, name, files, size, format, status and reason" {
  bm backup adapter --type emergency --reason "risky change" -q
  bm backup adapter --type pre_deletion --format tar -q
  run -0 bm list
  [ "${lines[1]}" = "BACKUPS (2 total)" ]
  assert_output_contains "risky change"
  [[ "$output" == *emergency*adapter_*verified* ]]
  [[ "$output" == *pre_deletion*tar*verified* ]]
  run -0 bm list --type pre_deletion
  [ "${lines[1]}" = "BACKUPS (1 total)" ]
  run -0 bm list --json
  [ "$(echo "$output" | jq '.backups | length')" = 2 ]
}

@test "an empty store lists no backups; a missing one is exit 3 with its path" {
  run -3 bm list
  assert_output_contains "no store at $WORK/models"
  mkdir -p models/versions
  run -0 bm list
  [ "${lines[1]}" = "BACKUPS (0 total)" ]
}

@test "model-versioner's backups are listed too" {
  mv_ create --adapter adapter --description one
  mv_ delete 1 --confirm
  run -0 bm list --type deleted_versions
  [ "${lines[1]}" = "BACKUPS (1 total)" ]
}

@test "an adapter without weights is refused with exit 6, nothing written" {
  rm adapter/adapter_model.safetensors
  run -6 bm backup adapter
  assert_output_contains "adapter without weights"
  [ -z "$(find models -type f 2>/dev/null | grep -v lock)" ]
}

@test "shards named by model.safetensors.index.json are critical" {
  mkdir model
  printf '{"metadata": {"total_size": 8}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}' \
    > model/model.safetensors.index.json
  echo 1 > model/model-00001-of-00002.safetensors
  run -1 bm backup model
  assert_output_contains "critical file missing $WORK/model/model-00002-of-00002.safetensors"
  echo 2 > model/model-00002-of-00002.safetensors
  run -1 bm backup model --critical notes.md
  assert_output_contains "critical file missing $WORK/model/notes.md"
  echo notes > model/notes.md
  path=$(bm backup model -q --critical notes.md)
  [ "$(jq -r '.critical_files | length' "$path/backup.json")" = 4 ]
}

@test "bad arguments: exit 2; missing source: exit 3" {
  run -2 bm backup adapter --format zip
  run -2 bm backup adapter --format dir --level 5
  run -2 bm backup adapter --type "Bad Type"
  run -3 bm backup nope
  run -4 bm backup "$WORK"
  assert_output_contains "it contains the backups"
}

@test "restore verifies the backup first and keeps what DEST held" {
  path=$(bm backup adapter -q --format tar.zst)
  original=$(tree_sum adapter)
  touch_adapter
  changed=$(tree_sum adapter)
  run -0 bm restore "$path" adapter
  [ "$(tree_sum adapter)" = "$original" ]
  pre=$(ls -d models/backups/pre_restore/adapter_*)
  [ "$(tree_sum "$pre/data")" = "$changed" ]
  run -0 bm restore "$path" adapter
  assert_output_contains "nothing changed"
}

@test "restore of a damaged backup is refused and DEST is untouched" {
  path=$(bm backup adapter -q)
  touch_adapter
  before=$(tree_sum adapter)
  flip_byte "$path/data/adapter_model.safetensors" 3
  run -1 bm restore "$path" adapter
  assert_output_contains "failed verification"
  assert_output_contains "checksum differs: adapter_model.safetensors"
  [ "$(tree_sum adapter)" = "$before" ]
  [ "$(jq -r .verification.result "$path/backup.json")" = failed ]
}

@test "BACKUP can be a path, TYPE/NAME or a unique name" {
  path=$(bm backup adapter -q)
  name=$(basename "$path")
  run -0 bm verify "$path"
  run -0 bm verify "emergency/$name"
  run -0 bm verify "$name"
  run -3 bm verify emergency/nope
  run -3 bm verify nope
}
