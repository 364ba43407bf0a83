#!/usr/bin/env bats
# A/B tests: create, start, route, record, status, conclude, canary.

load helpers

setup() {
  setup_workdir
  mv_ create --adapter adapter --description control -q >/dev/null
  touch_adapter
  mv_ create --adapter adapter --description treatment -q >/dev/null
}

# record N VARIANT CORRECT: N records with that feedback.
record() {
  for _ in $(seq "$1"); do mv_ ab record exp --variant "$2" --correct "$3" --latency-ms 12 --confidence 0.9; done
}

@test "a test is a draft until started; route prints variant, version and adapter path" {
  run -0 mv_ ab create exp --control 1 --treatment 2 --strategy sticky --split 0.2 --name "rank 16" --target-samples 50
  assert_output_contains "ab start exp"
  [ -f models/versions/ab/exp/test.json ]
  run -4 mv_ ab route exp --user alice
  assert_output_contains "it is draft"
  run -0 mv_ ab start exp
  run -0 mv_ ab route exp --user alice
  IFS=$'\t' read -r variant version adapter <<<"$output"
  [ "$variant" = control ] || [ "$variant" = treatment ]
  [ -d "$adapter" ] && [ "$adapter" = "$MODELKEEP_ROOT/versions/$version/adapter" ]
  # Sticky: the same answer every time, in every process.
  for _ in 1 2 3; do run -0 mv_ ab route exp --user alice --json; [ "$(echo "$output" | jq -r .variant)" = "$variant" ]; done
  run -2 mv_ ab route exp
  assert_output_contains "needs --user"
  run -0 mv_ ab list
  assert_output_contains "exp"
  assert_output_contains "running"
}

@test "status shows per-variant figures; conclude promotes a significant winner and closes the test" {
  mv_ ab create exp --control 1 --treatment 2 -q
  mv_ ab start exp -q
  record 30 control 0
  record 10 control 1
  record 35 treatment 1
  record 5 treatment 0
  run -0 mv_ ab status exp
  assert_output_contains "0.250 ["
  assert_output_contains "0.875 ["
  run -0 mv_ ab status exp --json
  [ "$(echo "$output" | jq -r .variants.treatment.predictions)" = 40 ]
  [ "$(echo "$output" | jq -r .variants.control.p95_latency_ms)" = 12 ]
  run -0 mv_ ab conclude exp --promote-winner
  assert_output_contains "winner: treatment"
  assert_output_contains "significant at 0.05"
  assert_output_contains "promoted v002"
  [ "$(readlink models/versions/production)" = "$(basename "$(version_dir 2)")" ]
  grep -q '"ab_conclude"' models/versions/events.jsonl
  run -0 mv_ ab show exp
  [[ "$output" == *"winner:      treatment"* ]]
  assert_output_contains ", significant at 0.05"
  assert_output_contains "promotion:   production -> $(basename "$(version_dir 2)")"
  [[ "$output" != *'{"'* ]] # lines, not raw JSON
  run -0 mv_ history
  assert_output_contains "A/B test exp: winner treatment (significant)"
  [ "$(grep '"promote"' models/versions/events.jsonl | tail -1 | jq -r .ab_test)" = exp ]
  run -4 mv_ ab record exp --variant control --correct 1
  assert_output_contains "concluded"
  run -4 mv_ ab conclude exp
}

@test "no significant difference: conclude says so and promotes nothing" {
  mv_ ab create exp --control 1 --treatment 2 -q
  mv_ ab start exp -q
  record 5 control 1
  record 5 control 0
  record 6 treatment 1
  record 4 treatment 0
  run -0 mv_ ab conclude exp --promote-winner --json
  [ "$(echo "$output" | jq -r .result.significant)" = false ]
  [ "$(echo "$output" | jq -r .result.promotion)" = null ]
  [ ! -e models/versions/production ]
}

@test "canary raises the treatment share one step at a time, never above 1.0" {
  mv_ ab create exp --control 1 --treatment 2 --strategy canary --canary-step 0.4 -q
  mv_ ab start exp -q
  run -0 mv_ ab canary exp
  assert_output_contains "0.400 -> 0.800"
  run -0 mv_ ab canary exp
  assert_output_contains "0.800 -> 1.000"
  run -0 mv_ ab canary exp --json
  [ "$(echo "$output" | jq -r .canary_share)" = 1 ]
  run -0 mv_ ab route exp
  assert_output_contains treatment
}

@test "bad input: usage errors, unknown tests and versions, nothing created" {
  run -2 mv_ ab create ../x --control 1 --treatment 2
  run -2 mv_ ab create exp --control 1 --treatment 2 --split 1.5
  run -2 mv_ ab create exp --control 1 --treatment 2 --strategy alphabetical
  run -2 mv_ ab create exp --control 1 --treatment 1
  run -3 mv_ ab create exp --control 1 --treatment 9
  [ ! -e models/versions/ab/exp ]
  run -3 mv_ ab start nope
  run -3 mv_ ab record nope --variant control
  mv_ ab create exp --control 1 --treatment 2 -q
  run -4 mv_ ab create exp --control 1 --treatment 2
  mv_ ab start exp -q
  run -2 mv_ ab record exp --variant both
  run -2 mv_ ab record exp --variant control --correct 2
  run -2 mv_ ab record exp --variant control --confidence 1.5
  run -4 mv_ ab canary exp
  [ ! -s models/versions/ab/exp/predictions.jsonl ]
}

@test "round robin alternates at split 0.5, consistently across processes" {
  mv_ ab create exp --control 1 --treatment 2 --strategy round_robin -q
  mv_ ab start exp -q
  for _ in 1 2 3 4; do mv_ ab route exp; done | cut -f1 > order
  [ "$(tr '\n' ' ' < order)" = "control treatment control treatment " ]
  for _ in 1 2 3 4 5; do (for _ in 1 2 3 4; do mv_ ab route exp | cut -f1; done) & done > many
  wait
  [ "$(grep -c treatment many)" = 10 ]
}
