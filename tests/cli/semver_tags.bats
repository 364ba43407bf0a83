#!/usr/bin/env bats
# Semantic versions, tags and lineage.

load helpers

@test "--semver, --bump and next; a semver names a version" {
  run -3 mv_ next
  assert_output_contains "no store at $WORK/models"
  mkdir -p models/versions
  run -0 mv_ next
  assert_output_contains "minor   0.1.0"
  mv_ create --adapter adapter --description a --bump minor -q
  touch_adapter
  mv_ create --adapter adapter --description b --bump patch -q
  touch_adapter
  mv_ create --adapter adapter --description c --semver 1.0.0-rc.1 -q
  [ "$(jq -r .semver "$(version_dir 1)/metadata.json")" = 0.1.0 ]
  [ "$(jq -r .semver "$(version_dir 2)/metadata.json")" = 0.1.1 ]
  run -0 mv_ show 0.1.1 --json
  [ "$(echo "$output" | jq -r .id)" = v002 ]
  run -0 mv_ next --json
  [ "$(echo "$output" | jq -r .current)" = 1.0.0-rc.1 ]
  [ "$(echo "$output" | jq -r .patch)" = 1.0.0 ]
  touch_adapter
  run -4 mv_ create --adapter adapter --description d --semver 0.1.1
  assert_output_contains "semver 0.1.1 is already v002_"
  run -2 mv_ create --adapter adapter --description d --semver 1.2
  run -2 mv_ create --adapter adapter --description d --semver 1.0.0 --bump major
  run -3 mv_ show 9.9.9
}

@test "tags: set, filter, remove" {
  mv_ create --adapter adapter --description a -q
  touch_adapter
  mv_ create --adapter adapter --description b -q
  run -0 mv_ tag 2 team=nlp dataset=math
  run -0 mv_ list --tag team=nlp
  [[ "$output" == *v002* ]] && [[ "$output" != *v001* ]]
  run -0 mv_ list --tag dataset
  [[ "$output" == *v002* ]]
  run -0 mv_ untag 2 team
  run -0 mv_ list --tag team=nlp
  [ "$output" = "No versions found" ]
  run -3 mv_ untag 2 team
  run -2 mv_ tag 2 "bad key=1"
  [ "$(grep -c '"tag"' models/versions/events.jsonl)" = 1 ]
}

@test "lineage shows the chain and what changed at each step" {
  echo '{"lr": 0.0002, "epochs": 3}' > hp.json
  echo one > data.jsonl
  mv_ create --adapter adapter --description first --hyperparams hp.json --data data.jsonl --samples 10 \
    --steps 100 --metric f1_score=0.8 -q
  touch_adapter
  echo '{"lr": 0.0001, "epochs": 3}' > hp.json
  echo more > extra.jsonl
  mv_ create --adapter adapter --description second --hyperparams hp.json --data data.jsonl --data extra.jsonl \
    --steps 200 --metric f1_score=0.85 -q
  touch_adapter
  echo two >> data.jsonl
  mv_ create --adapter adapter --description third --hyperparams hp.json --data data.jsonl --base-model other/base -q
  run -0 mv_ lineage 3
  [[ "${lines[0]}" == v003_*third ]]
  assert_output_contains "training data changed: $WORK/data.jsonl (4 B -> 8 B, other content), -$WORK/extra.jsonl"
  assert_output_contains "base model org/tiny -> other/base"
  assert_output_contains "hyperparameters changed: lr 0.0002 -> 0.0001"
  assert_output_contains "training data changed: +$WORK/extra.jsonl"
  assert_output_contains "steps 100 -> 200"
  assert_output_contains "f1_score 0.8 -> 0.85"
  [[ "${lines[-1]}" == "<- v001_"*first ]]
  [ "$(jq -r .samples "$(version_dir 1)/metadata.json")" = 10 ]
  [ "$(jq -r .hyperparameters.lr "$(version_dir 1)/metadata.json")" = 0.0002 ]
  [ "$(jq -r .hyperparameters_hash "$(version_dir 2)/metadata.json")" = "$(jq -r .hyperparameters_hash "$(version_dir 3)/metadata.json")" ]
  echo '{broken' > hp.json
  touch_adapter
  run -6 mv_ create --adapter adapter --description bad --hyperparams hp.json
}

@test "a base model given as a path records its manifest digest" {
  mkdir base && echo weights > base/model.safetensors
  mv_ create --adapter adapter --description a --base-model "$WORK/base" -q
  [ "$(jq -r .base_model_digest "$(version_dir 1)/metadata.json" | wc -c)" = 65 ]
}
