#!/usr/bin/env bats
# model-versioner show

load helpers

@test "show prints the metadata readably" {
  printf 'x\n' > data.jsonl
  mv_ create --adapter adapter --description "Initial training" --steps 7 --loss 0.25 --metric f1_score=0.9 --data data.jsonl
  run -0 mv_ show v1
  assert_output_contains "Initial training"
  assert_output_contains "(latest)"
  assert_output_contains "f1_score = 0.9"
  assert_output_contains "adapter/adapter_model.safetensors"
  assert_output_contains "org/tiny"
  assert_output_contains "$WORK/data.jsonl"
}

@test "every VERSION spelling names the same version" {
  mv_ create --adapter adapter --description one
  name=$(basename "$(version_dir 1)")
  for ref in 1 v1 v001 latest "$name"; do
    run -0 mv_ show "$ref" --json
    [ "$(echo "$output" | jq -r .name)" = "$name" ]
  done
}

@test "bad and unknown versions" {
  mv_ create --adapter adapter --description one
  run -2 mv_ show Three
  assert_output_contains "invalid version 'Three'"
  run -3 mv_ show three
  assert_output_contains "no version or stage 'three'"
  run -3 mv_ show v9
  assert_output_contains "no version v009"
  run -2 mv_ show
}

@test "garbage metadata: exit 6 with the path" {
  mv_ create --adapter adapter --description one
  echo '[1,2' > "$(version_dir 1)/metadata.json"
  run -6 mv_ show 1
  assert_output_contains "malformed metadata $(version_dir 1)/metadata.json"
}

@test "show on a missing store: exit 3" {
  run -3 mv_ show 1
  assert_output_contains "no store at"
}
