#!/usr/bin/env bats
# model-versioner list

load helpers

@test "an empty store says No versions found; a missing one is exit 3 with its path" {
  run -3 mv_ list
  assert_output_contains "no store at $WORK/models"
  mkdir -p models/versions
  run -0 mv_ list
  [ "$output" = "No versions found" ]
}

@test "the table shows every version with its marks" {
  mv_ create --adapter adapter --description "Initial training" --steps 100 --loss 0.5
  touch_adapter
  mv_ create --adapter adapter --description "Math focus"
  run -0 mv_ list
  [[ "${lines[0]}" == ID*CREATED*FILES*SIZE*STEPS*LOSS*STATUS*MARKS*DESCRIPTION ]]
  [[ "${lines[1]}" == v001*100*0.5000*"Initial training" ]]
  [[ "${lines[2]}" == v002*latest*"Math focus" ]]
  [[ "${lines[1]}" != *latest* ]]
}

@test "leftover temporaries are not listed" {
  mv_ create --adapter adapter --description one
  mkdir -p "models/versions/.v002_20250101_000000_x.tmp-1-0/adapter"
  run -0 mv_ list
  [ "${#lines[@]}" = 2 ]
}

@test "a version with a garbage metadata.json is shown as broken, exit 6" {
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
  echo 'garbage{' > "$(version_dir 1)/metadata.json"
  run -6 mv_ list
  assert_output_contains "malformed metadata $(version_dir 1)/metadata.json"
  assert_output_contains "broken"
  [[ "$output" == *v002*two* ]]
}

@test "--json lists versions with the latest flag" {
  mv_ create --adapter adapter --description one
  run -0 mv_ list --json
  [ "$(echo "$output" | jq -r '.versions[0].id')" = v001 ]
  [ "$(echo "$output" | jq -r '.versions[0].latest')" = true ]
  [ "$(echo "$output" | jq -r '.versions[0].file_count')" = 2 ]
}
