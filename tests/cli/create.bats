#!/usr/bin/env bats
# model-versioner create

load helpers

@test "create prints the new id and builds a complete version" {
  run -0 mv_ create --adapter adapter --description "Initial training" --steps 1250 --loss 0.42
  [ "${lines[0]}" = v001 ]
  dir=$(version_dir 1)
  [[ "$dir" == *"/v001_"*"_initial_training" ]]
  cmp adapter/adapter_model.safetensors "$dir/adapter/adapter_model.safetensors"
  [ "$(readlink models/versions/latest)" = "$(basename "$dir")" ]
  [ "$(jq -r .steps "$dir/metadata.json")" = 1250 ]
  [ "$(jq -r .final_loss "$dir/metadata.json")" = 0.42 ]
  [ "$(jq -r .base_model "$dir/metadata.json")" = org/tiny ]
  [ "$(jq -r .file_count "$dir/metadata.json")" = 2 ]
  want=$(sha256sum adapter/adapter_model.safetensors | cut -d' ' -f1)
  [ "$(jq -r '.files[] | select(.path=="adapter/adapter_model.safetensors") | .sha256' "$dir/metadata.json")" = "$want" ]
  [ "$(jq -r .event models/versions/events.jsonl)" = create ]
}

@test "directory names follow vNNN_YYYYMMDD_HHMMSS_slug" {
  run -0 mv_ create --adapter adapter --description "Math: 10k examples (v2)!"
  [[ "$(basename "$(version_dir 1)")" =~ ^v001_[0-9]{8}_[0-9]{6}_math_10k_examples_v2$ ]]
}

@test "training data, metrics and snapshots are recorded" {
  printf 'a\nb\n' > data.jsonl
  mkdir snaps && echo 1 > snaps/step_1.json && echo 2 > snaps/step_2.json
  run -0 mv_ create --adapter adapter --description d --data data.jsonl --metric f1_score=0.9 --metric acc=0.8 \
    --snapshots snaps --base-model other/base
  dir=$(version_dir 1)
  [ "$(jq -r '.training_data[0].sha256' "$dir/metadata.json")" = "$(sha256sum data.jsonl | cut -d' ' -f1)" ]
  [ "$(jq -r '.training_data[0].size' "$dir/metadata.json")" = 4 ]
  [ "$(jq -r .metrics.f1_score "$dir/metadata.json")" = 0.9 ]
  [ "$(jq -r .evolution_snapshot_count "$dir/metadata.json")" = 2 ]
  [ "$(jq -r .base_model "$dir/metadata.json")" = other/base ]
  cmp snaps/step_2.json "$dir/evolution_snapshots/step_2.json"
}

@test "content identical to the newest version is refused with exit 4" {
  run -0 mv_ create --adapter adapter --description one
  run -4 mv_ create --adapter adapter --description two
  assert_output_contains "content identical to v001_"
  [ "$(ls models/versions | grep -c '^v')" = 1 ]
  run -0 mv_ create --adapter adapter --description two --allow-duplicate
  [ "${lines[0]}" = v002 ]
}

@test "parent defaults to the newest version and can be chosen" {
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
  touch_adapter
  mv_ create --adapter adapter --description three --parent v1
  [ "$(jq -r .parent_version "$(version_dir 2)/metadata.json")" = "$(basename "$(version_dir 1)")" ]
  [ "$(jq -r .parent_version "$(version_dir 3)/metadata.json")" = "$(basename "$(version_dir 1)")" ]
  touch_adapter
  run -3 mv_ create --adapter adapter --description four --parent v9
}

@test "a missing adapter directory: exit 3, nothing created" {
  run -3 mv_ create --adapter nope --description d
  assert_output_contains "model-versioner: error: adapter directory not found nope"
  [ ! -e models/versions ] || [ -z "$(ls models/versions)" ]
}

@test "bad arguments: exit 2 and no change" {
  run -2 mv_ create --adapter adapter --description d --metric f1
  assert_output_contains "invalid --metric 'f1'"
  run -2 mv_ create --adapter adapter --description d --metric f1=abc
  run -2 mv_ create --adapter adapter --description ""
  run -2 mv_ create --adapter adapter/adapter_config.json --description d
  run -2 mv_ create --description d
  run -2 mv_ create --adapter adapter --description d --steps -5
  run -3 mv_ create --adapter adapter --description d --data missing.jsonl
  [ -z "$(ls models/versions 2>/dev/null | grep '^v')" ]
}

@test "an empty adapter directory is refused as malformed (exit 6)" {
  mkdir empty
  run -6 mv_ create --adapter empty --description d
  assert_output_contains "adapter directory holds no files"
}

@test "an unreadable file: exit 1 naming it, nothing created, source untouched" {
  command -v setpriv >/dev/null || skip "setpriv not available"
  chmod 000 adapter/adapter_model.safetensors
  chmod 777 "$WORK"
  before=$(ls -l adapter)
  if [ "$(id -u)" = 0 ]; then
    run -1 setpriv --reuid=65534 --regid=65534 --clear-groups "$MV" create --adapter adapter --description d
  else
    run -1 mv_ create --adapter adapter --description d
  fi
  assert_output_contains "cannot open $WORK/adapter/adapter_model.safetensors: Permission denied"
  [ -z "$(ls -A models/versions 2>/dev/null | grep -v '^\.' )" ]
  [ "$(ls -l adapter)" = "$before" ]
}

@test "--json prints the metadata as one document" {
  run -0 mv_ --json create --adapter adapter --description d
  [ "$(echo "$output" | jq -r .id)" = v001 ]
  [ "$(echo "$output" | jq -r .path)" = "$(version_dir 1)" ]
}

@test "global options work after the subcommand and --root wins over the environment" {
  run -0 mv_ create --adapter adapter --description d --root "$WORK/other" -q
  [ "$output" = v001 ]
  [ -d "$WORK/other/versions" ]
  [ ! -d "$WORK/models/versions" ]
}

@test "unchanged content is linked to the stored copy; --link copy and the store setting make plain copies" {
  mv_ create --adapter adapter --description one -q
  touch_adapter
  run -0 --separate-stderr mv_ create --adapter adapter --description two --json
  [ "$(echo "$output" | jq -r .storage.files_linked)" = 1 ]
  [ "$(echo "$output" | jq -r .storage.files_stored)" = 1 ]
  objects=$(find models/.modelkeep/objects -type f | wc -l)
  [ "$objects" = 3 ]
  touch_adapter
  run -0 --separate-stderr mv_ create --adapter adapter --description three --link copy --json
  [ "$(echo "$output" | jq -r .storage.link)" = copy ]
  [ "$(find models/.modelkeep/objects -type f | wc -l)" = 3 ]
  [ "$(stat -c %h "$(version_dir 3)/adapter/adapter_config.json")" = 1 ]
  printf '{"link": "copy"}\n' > models/.modelkeep/config.json
  touch_adapter
  mv_ create --adapter adapter --description four -q
  [ "$(stat -c %h "$(version_dir 4)/adapter/adapter_config.json")" = 1 ]
  run -0 mv_ verify
  run -2 mv_ create --adapter adapter --description five --link symlink
  printf '{"link": "sideways"}\n' > models/.modelkeep/config.json
  touch_adapter
  run -2 mv_ create --adapter adapter --description five
}

@test "a symlink inside the adapter that points outside it is refused; one that stays inside is followed" {
  echo secret > "$WORK/outside.txt"
  ln -s "$WORK/outside.txt" adapter/leak
  run -6 mv_ create --adapter adapter --description leak
  assert_output_contains "symlink pointing outside the directory refused"
  [ ! -d models/versions ] || [ -z "$(ls models/versions | grep '^v')" ]
  rm adapter/leak
  ln -s adapter_config.json adapter/alias.json
  run -0 mv_ create --adapter adapter --description alias -q
  [ -f "$(version_dir 1)/adapter/alias.json" ] && [ ! -L "$(version_dir 1)/adapter/alias.json" ]
}

@test "a description in any script names the version readably, and the version works like any other" {
  run -0 mv_ create --adapter adapter --description "日本語 Über-Training"
  [ -d "$MODELKEEP_ROOT"/versions/v001_*_日本語_uber_training ]
  run -0 mv_ show 1 --json
  [ "$(jq -r .description <<< "$output")" = "日本語 Über-Training" ]
  run -0 mv_ verify
  mkdir Modèle && cp -r adapter/. Modèle/
  run -0 bm backup Modèle
  [[ "$output" == *"/backups/emergency/modele_"* ]]
  run -0 bm verify --all
}
