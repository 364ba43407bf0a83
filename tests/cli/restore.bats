#!/usr/bin/env bats
# model-versioner restore

load helpers

@test "restore puts the adapter back where it came from; the modified content is kept in a backup" {
  mv_ create --adapter adapter --description one
  original=$(tree_sum adapter)
  cp adapter/adapter_model.safetensors v1.bin
  touch_adapter
  echo "notes" > adapter/notes.txt
  modified=$(tree_sum adapter)
  run -0 mv_ restore v1
  assert_output_contains "restored v001_"
  [ "$(tree_sum adapter)" = "$original" ]
  backup=$(ls -d models/backups/pre_restore/adapter_*)
  [ "$(tree_sum "$backup/data")" = "$modified" ]
  [ "$(jq -r .verification.result "$backup/backup.json")" = verified ]
  [ -z "$(ls -A "$WORK" | grep '\.tmp')" ]
  [ "$(tail -n1 models/versions/events.jsonl | jq -r .event)" = restore ]
}

@test "restoring onto identical content changes nothing and makes no backup" {
  mv_ create --adapter adapter --description one
  run -0 mv_ restore latest
  assert_output_contains "already holds"
  [ ! -d models/backups/pre_restore ] || [ -z "$(ls models/backups/pre_restore)" ]
}

@test "restore --to a new directory" {
  mv_ create --adapter adapter --description one
  run -0 mv_ restore 1 --to out/restored
  [ "$(tree_sum out/restored)" = "$(tree_sum adapter)" ]
}

@test "restore of a damaged version fails and leaves the target alone" {
  mv_ create --adapter adapter --description one
  touch_adapter
  before=$(tree_sum adapter)
  flip_byte "$(version_dir 1)/adapter/adapter_model.safetensors" 10
  run -1 mv_ restore 1
  assert_output_contains "does not match the recorded checksums"
  [ "$(tree_sum adapter)" = "$before" ]
}

@test "a target that is a file is refused with exit 4" {
  mv_ create --adapter adapter --description one
  echo keep > afile
  run -4 mv_ restore 1 --to afile
  [ "$(cat afile)" = keep ]
}

@test "restore of an unknown version: exit 3" {
  mv_ create --adapter adapter --description one
  run -3 mv_ restore 5
}
