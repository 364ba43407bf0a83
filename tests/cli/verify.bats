#!/usr/bin/env bats
# model-versioner verify

load helpers

setup() {
  setup_workdir
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
}

@test "a clean store verifies" {
  run -0 mv_ verify
  [[ "${lines[0]}" == v001_*": OK (2 files,"* ]]
  [[ "${lines[1]}" == v002_*": OK"* ]]
}

@test "a flipped byte is reported as modified, exit 1" {
  flip_byte "$(version_dir 1)/adapter/adapter_model.safetensors" 5
  run -1 mv_ verify
  assert_output_contains "FAILED: 0 missing, 1 modified, 0 extra"
  assert_output_contains "modified: adapter/adapter_model.safetensors"
  run -0 mv_ verify v2
}

@test "missing and extra files are reported" {
  rm "$(version_dir 2)/adapter/adapter_config.json"
  echo extra > "$(version_dir 2)/adapter/new.txt"
  run -1 mv_ verify 2
  assert_output_contains "missing:  adapter/adapter_config.json"
  assert_output_contains "extra:    adapter/new.txt"
}

@test "garbage metadata fails verification" {
  echo nonsense > "$(version_dir 1)/metadata.json"
  run -1 mv_ verify
  assert_output_contains "malformed metadata"
}

@test "a latest link that does not point at the newest version is reported" {
  ln -sfn "$(basename "$(version_dir 1)")" models/versions/latest
  run -1 mv_ verify
  assert_output_contains "latest does not point to the newest version"
  touch_adapter
  mv_ create --adapter adapter --description three
  run -0 mv_ verify
}

@test "--json reports per version" {
  # adapter_model.safetensors differs between the versions, so v001's copy is its own.
  flip_byte "$(version_dir 1)/adapter/adapter_model.safetensors" 1
  run -1 --separate-stderr mv_ verify --json
  [ "$(echo "$output" | jq -r '.ok')" = false ]
  [ "$(echo "$output" | jq -r '.versions[0].modified[0]')" = adapter/adapter_model.safetensors ]
  [ "$(echo "$output" | jq -r '.versions[1].ok')" = true ]
}

@test "content shared by versions is stored once; damage to it shows in every version that holds it" {
  obj=$(jq -r '.files[] | select(.path == "adapter/adapter_config.json") | .sha256' "$(version_dir 1)/metadata.json")
  [ -f "models/.modelkeep/objects/sha256/${obj:0:2}/${obj:2}" ]
  [ "$(stat -c %i "$(version_dir 1)/adapter/adapter_config.json")" = "$(stat -c %i "$(version_dir 2)/adapter/adapter_config.json")" ]
  [ "$(stat -c %a "$(version_dir 1)/adapter/adapter_config.json")" = 444 ]
  flip_byte "$(version_dir 1)/adapter/adapter_config.json" 1
  run -1 --separate-stderr mv_ verify --json
  [ "$(echo "$output" | jq -r '.versions[0].modified[0]')" = adapter/adapter_config.json ]
  [ "$(echo "$output" | jq -r '.versions[1].modified[0]')" = adapter/adapter_config.json ]
}
