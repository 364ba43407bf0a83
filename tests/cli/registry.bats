#!/usr/bin/env bats
# Stages, promote, rollback, auto-promote, status and history.

load helpers

# new_version F1: a new version with that f1_score; prints nothing.
new_version() {
  touch_adapter
  mv_ create --adapter adapter --description "f1 $1" --metric "f1_score=$1" -q >/dev/null
}

@test "promote points a stage at a verified version, updates statuses and logs the move" {
  new_version 0.90
  new_version 0.93
  run -0 mv_ promote v1 --reason "first release"
  [ "$(readlink models/versions/production)" = "$(basename "$(version_dir 1)")" ]
  run -0 mv_ promote 2
  [ "$(jq -r .status "$(version_dir 2)/metadata.json")" = production ]
  [ "$(jq -r .status "$(version_dir 1)/metadata.json")" = rollback_candidate ]
  event=$(grep '"promote"' models/versions/events.jsonl | head -1)
  [ "$(echo "$event" | jq -r .reason)" = "first release" ]
  [ "$(echo "$event" | jq -r .from)" = null ]
  [ -n "$(echo "$event" | jq -r .user)" ] && [ -n "$(echo "$event" | jq -r .time)" ]
  run -0 mv_ list
  [[ "$output" == *v002*production*latest,production* ]]
  run -0 mv_ show production --json
  [ "$(echo "$output" | jq -r .id)" = v002 ]
}

@test "a version that fails verification is never promoted" {
  new_version 0.9
  flip_byte "$(version_dir 1)/adapter/adapter_model.safetensors" 1
  run -1 mv_ promote 1
  assert_output_contains "fails verification"
  [ ! -L models/versions/production ]
}

@test "promote, promote, rollback returns to the previous holder; again goes further back; then exit 4" {
  new_version 0.90; new_version 0.91; new_version 0.92
  mv_ promote 1; mv_ promote 3; mv_ promote 2
  run -0 mv_ rollback --reason "bad outputs"
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 3)")" ]
  [ "$(tail -1 models/versions/events.jsonl | jq -r .automatic)" = false ]
  run -0 mv_ rollback
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 1)")" ]
  run -4 mv_ rollback
  assert_output_contains "nothing to roll back to"
}

@test "rollback with no holder or no earlier holder exits 4" {
  new_version 0.9
  run -4 mv_ rollback
  mv_ promote 1
  run -4 mv_ rollback
}

@test "rollback --to and --best" {
  new_version 0.95; new_version 0.80; new_version 0.85; new_version 0.70
  mv_ promote 4
  run -0 mv_ rollback --to v2
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 2)")" ]
  mv_ promote 4
  run -0 mv_ rollback --best f1_score
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 1)")" ]
  run -2 mv_ rollback --to v1 --best f1_score
}

@test "auto-promote follows the rule and explains itself" {
  new_version 0.90
  run -0 mv_ auto-promote v1
  assert_output_contains "first version"
  new_version 0.91
  run -4 mv_ auto-promote v2
  assert_output_contains "F1 change +1.0 points, below the threshold of 2 points (0.900 -> 0.910)"
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 1)")" ]
  new_version 0.93
  run -0 mv_ auto-promote v3 --json
  [ "$(echo "$output" | jq -r .promoted)" = true ]
  [ "$(echo "$output" | jq -r .reason)" = "F1 improved 3.0 points (0.900 -> 0.930)" ]
  [ "$(echo "$output" | jq -r .old)" = 0.9 ]
  new_version 0.96
  run -0 mv_ auto-promote v4
  new_version 0.955
  run -4 mv_ auto-promote v5
  assert_output_contains "regressed"
  run -0 mv_ auto-promote v5 --high-threshold 0.999 --min-improvement -0.01
  run -4 mv_ auto-promote v5 --metric accuracy
  assert_output_contains "has no metric accuracy"
}

@test "auto-promote defaults come from .modelkeep/config.json" {
  new_version 0.50
  mv_ auto-promote 1
  new_version 0.52
  echo '{"auto_promote": {"min_improvement": 0.05}}' > models/.modelkeep/config.json
  run -4 mv_ auto-promote 2
  assert_output_contains "below the threshold of 5 points"
}

@test "status changes are validated and logged" {
  new_version 0.9
  run -0 mv_ status 1 archived --reason "old"
  [ "$(jq -r .status "$(version_dir 1)/metadata.json")" = archived ]
  run -2 mv_ status 1 retired
  run -0 mv_ history --version 1 --json
  [ "$(echo "$output" | jq -r '.events[0].event')" = status ]
}

@test "history lists events newest first and --at tells who held a stage then" {
  new_version 0.9; new_version 0.95
  mv_ promote 1
  sleep 1.1
  middle=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  sleep 1.1
  mv_ promote 2
  run -0 mv_ history
  [[ "${lines[0]}" == *promote* ]]
  [[ "${lines[-1]}" == *create* ]]
  run -0 mv_ history --at "$middle" --json
  [ "$(echo "$output" | jq -r .stages.production)" = "$(basename "$(version_dir 1)")" ]
  run -0 mv_ history --stage production --json
  [ "$(echo "$output" | jq '.events | length')" = 2 ]
  run -2 mv_ history --at yesterday
}

@test "a version a stage points to cannot be deleted" {
  new_version 0.9
  mv_ promote 1 --stage canary
  run -4 mv_ delete 1 --confirm
  assert_output_contains "stage canary points to it"
}

@test "bad stage names are usage errors" {
  new_version 0.9
  run -2 mv_ promote 1 --stage latest
  run -2 mv_ promote 1 --stage Prod
  run -3 mv_ show canary
}

@test "events survive concurrent promoters" {
  new_version 0.9; new_version 0.91
  for p in 1 2; do
    (for i in $(seq 10); do "$MV" promote "$p" --json 2>/dev/null | jq -r .changed >> "changes.$p" || exit 1; done) &
  done
  wait
  # Every promote that moved the stage (a promote of the current holder changes nothing) logged
  # exactly one event.
  [ "$(cat changes.1 changes.2 | wc -l)" = 20 ]
  [ "$(grep -c '"promote"' models/versions/events.jsonl)" = "$(cat changes.1 changes.2 | grep -c true)" ]
  jq -c . models/versions/events.jsonl > /dev/null
  run -0 mv_ verify
}

@test "gc keeps the newest N, staged versions and latest; dry run first" {
  for f in 0.1 0.2 0.3 0.4 0.5; do new_version "$f"; done
  mv_ promote 1
  before=$(tree_sum models/versions)
  run -0 mv_ gc --keep 2
  [ "$(echo "$output" | grep -c '^DELETE')" = 2 ]
  assert_output_contains "stage production"
  [ "$(tree_sum models/versions)" = "$before" ]
  run -0 mv_ gc --keep 2 --execute
  [ "$(echo "$output" | grep -c '^DELETED')" = 2 ]
  assert_output_contains "3 kept, 2 deleted"
  [ "$(ls models/versions | grep -c '^v')" = 3 ]
  [ "$(ls models/backups/deleted_versions | wc -l)" = 2 ]
  run -0 mv_ gc --keep 0 --execute --no-backup
  [ "$(ls models/versions | grep -c '^v')" = 2 ]
  [ "$(ls models/backups/deleted_versions | wc -l)" = 2 ]
  run -0 mv_ verify
}

@test "diff shows files, tensors, text and metrics, and flags breaking changes" {
  cp "$MODELKEEP_SOURCE_DIR"/models.example/current_model/* adapter/
  rm -f adapter/adapter_model.safetensors.orig
  mv_ create --adapter adapter --description a --loss 0.7 --metric f1_score=0.8 -q
  size=$(stat -c %s adapter/adapter_model.safetensors)
  printf '\x3f' | dd of=adapter/adapter_model.safetensors bs=1 seek=$((size - 1)) conv=notrunc status=none
  mv_ create --adapter adapter --description b --loss 0.5 --metric f1_score=0.85 -q
  run -0 mv_ diff 1 2
  assert_output_contains "changed  adapter/adapter_model.safetensors"
  assert_output_contains "max |delta|"
  assert_output_contains "final_loss"
  assert_output_contains "no breaking changes"
  sed -i 's/"r": 4/"r": 8/' adapter/adapter_config.json
  mv_ create --adapter adapter --description c -q
  run -0 mv_ diff 2 3
  assert_output_contains 'BREAKING CHANGES (1)'
  assert_output_contains '-  "r": 4,'
  assert_output_contains '+  "r": 8,'
  run -1 mv_ diff 2 3 --fail-on-breaking
  run -0 mv_ diff 2 3 --json
  [ "$(echo "$output" | jq -r .breaking)" = true ]
}

@test "index.json indexes the versions and list notices a changed metadata.json" {
  new_version 0.1; new_version 0.2
  mv_ promote 2
  [ "$(jq -r '.stages.production' models/versions/index.json)" = "$(basename "$(version_dir 2)")" ]
  [ "$(jq -r '.versions | length' models/versions/index.json)" = 2 ]
  meta="$(version_dir 1)/metadata.json"
  jq '.description = "edited by hand"' "$meta" > "$meta.new" && mv "$meta.new" "$meta"
  run -0 mv_ list
  assert_output_contains "edited by hand"
  [ "$(jq -r '.versions[] | .summary.description' models/versions/index.json | grep -c 'edited')" = 0 ]
  run -0 mv_ reindex
  [ "$(jq -r '.versions[] | .summary.description' models/versions/index.json | grep -c 'edited')" = 1 ]
  echo '{broken' > models/versions/index.json
  run -0 mv_ list
  assert_output_contains "edited by hand"
}

@test "history of a deleted version" {
  new_version 0.1; new_version 0.2
  mv_ delete 1 --confirm
  run -0 mv_ history --version 1 --json
  [ "$(echo "$output" | jq -r '.events[0].event')" = delete ]
  [ "$(echo "$output" | jq -r '.events[1].event')" = create ]
  run -3 mv_ history --version 7
}
