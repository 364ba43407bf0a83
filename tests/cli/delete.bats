#!/usr/bin/env bats
# model-versioner delete

load helpers

@test "without --confirm: says what would be deleted, exit 4, nothing changes" {
  mv_ create --adapter adapter --description one
  before=$(tree_sum models)
  run -4 mv_ delete v1
  assert_output_contains "would delete v001_"
  assert_output_contains "--confirm"
  [ "$(tree_sum models)" = "$before" ]
}

@test "with --confirm: verified backup first, then the version is gone and latest moves" {
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
  v2=$(version_dir 2)
  v2_sum=$(tree_sum "$v2")
  run -0 mv_ delete 2 --confirm
  [ ! -e "$v2" ]
  backup=$(ls -d models/backups/deleted_versions/v002_*)
  [ "$(tree_sum "$backup/data")" = "$v2_sum" ]
  [ "$(jq -r .verification.result "$backup/backup.json")" = verified ]
  [ "$(readlink models/versions/latest)" = "$(basename "$(version_dir 1)")" ]
  run -0 mv_ verify
}

@test "numbers are never reused after a delete" {
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
  mv_ delete 2 --confirm
  touch_adapter
  run -0 mv_ create --adapter adapter --description three
  [ "${lines[0]}" = v003 ]
}

@test "deleting the last version removes latest" {
  mv_ create --adapter adapter --description one
  mv_ delete latest --confirm
  [ ! -L models/versions/latest ]
  run -0 mv_ list
  [ "$output" = "No versions found" ]
}

@test "delete of an unknown version: exit 3" {
  mv_ create --adapter adapter --description one
  run -3 mv_ delete 4 --confirm
}
