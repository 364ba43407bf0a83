#!/usr/bin/env bats
# Monitoring: thresholds, record, automatic rollback, hooks, status, history.

load helpers

setup() {
  setup_workdir
  mv_ create --adapter adapter --description good -q >/dev/null
  touch_adapter
  mv_ create --adapter adapter --description bad -q >/dev/null
  mv_ promote 1 -q
  mv_ promote 2 -q
  mv_ monitor thresholds --window 10 --max-error-rate 0.1 -q
}

ok() { mv_ monitor record --latency-ms 20 --confidence 0.9 --correct 1 "$@"; }
fail() { mv_ monitor record --error "$@"; }

@test "thresholds show the defaults, keep what was set and refuse nonsense" {
  run -0 mv_ monitor thresholds --stage staging --json
  [ "$(echo "$output" | jq -r .min_accuracy)" = 0.8 ]
  [ "$(echo "$output" | jq -r .window)" = 100 ]
  [ "$(echo "$output" | jq -r .auto_rollback)" = true ]
  run -0 mv_ monitor thresholds --json
  [ "$(echo "$output" | jq -r .window)" = 10 ]
  [ "$(echo "$output" | jq -r .max_error_rate)" = 0.1 ]
  run -2 mv_ monitor thresholds --window 0
  run -2 mv_ monitor thresholds --max-error-rate 2
  run -2 mv_ monitor thresholds --auto-rollback maybe
  run -2 mv_ monitor thresholds --stage ../x
  run -0 mv_ monitor thresholds --json
  [ "$(echo "$output" | jq -r .window)" = 10 ]
}

@test "the error rate fires on the exact prediction and rolls production back, logging the numbers" {
  ok; fail
  for _ in $(seq 7); do ok; done
  run -0 ok # the 10th: one error in a full window is at the maximum, not above
  [ -z "$output" ]
  run -0 mv_ monitor status --json
  [ "$(echo "$output" | jq -r .window.error_rate)" = 0.1 ]
  run -0 fail # the 11th: two errors in the last ten
  v1=$(basename "$(version_dir 1)"); v2=$(basename "$(version_dir 2)")
  [ "$output" = "rolled back production: $v2 -> $v1 (error rate 0.2 > 0.1 over 10 predictions)" ]
  [ "$(readlink models/versions/production)" = "$v1" ]
  [ "$(jq -r .status "$(version_dir 2)/metadata.json")" = failed ]
  event=$(grep '"rollback"' models/versions/events.jsonl | tail -1)
  [ "$(echo "$event" | jq -r .automatic)" = true ]
  [ "$(echo "$event" | jq -r .trigger)" = max_error_rate ]
  [ "$(echo "$event" | jq -r .observed)" = 0.2 ]
  [ "$(echo "$event" | jq -r .predictions)" = 10 ]
  run -0 mv_ monitor history
  assert_output_contains "$v2 -> $v1  automatic  (error rate 0.2 > 0.1"
  run -0 mv_ monitor history --json
  [ "$(echo "$output" | jq '.rollbacks | length')" = 1 ]
}

@test "three consecutive failures roll back at once; a manual rollback shows in the history too" {
  fail; fail
  [ "$(readlink models/versions/production)" = "$(basename "$(version_dir 2)")" ]
  run -0 fail --json
  [ "$(echo "$output" | jq -r .trigger.trigger)" = consecutive_failures ]
  [ "$(echo "$output" | jq -r .rolled_back)" = true ]
  mv_ promote 2 -q
  run -0 mv_ rollback --to 1 --reason "by hand"
  run -0 mv_ monitor history --json
  [ "$(echo "$output" | jq -r '.rollbacks[1].automatic')" = false ]
}

@test "signature errors fire immediately; with auto-rollback off only an alert is logged" {
  mv_ monitor thresholds --auto-rollback off -q
  fail --error-kind signature
  ok
  run -0 fail --error-kind load
  assert_output_contains "2 load/signature errors among the last 3 predictions"
  assert_output_contains "auto-rollback is off"
  [ "$(readlink models/versions/production)" = "$(basename "$(version_dir 2)")" ]
  grep -q '"monitor_alert"' models/versions/events.jsonl
  [ "$(jq -r .status "$(version_dir 2)/metadata.json")" = failed ]
  run -0 fail --error-kind load
  [ -z "$output" ]
  run -2 mv_ monitor record --error-kind load
  run -2 mv_ monitor record --error --error-kind disk
}

@test "rollback hooks get the event on stdin and in the environment; failing and hanging ones do not block" {
  mkdir -p models/hooks/on-rollback.d
  cat > models/hooks/on-rollback.d/10-save <<HOOK
#!/bin/sh
echo "\$MODELKEEP_STAGE \$MODELKEEP_FROM \$MODELKEEP_TO \$MODELKEEP_AUTOMATIC" > $WORK/hook.env
cat > $WORK/hook.json
HOOK
  printf '#!/bin/sh\nexit 9\n' > models/hooks/on-rollback.d/20-fail
  printf '#!/bin/sh\nsleep 60\n' > models/hooks/on-rollback.d/30-hang
  chmod 755 models/hooks/on-rollback.d/*
  export MODELKEEP_HOOK_TIMEOUT=1
  fail; fail
  SECONDS=0
  run -0 fail
  [ "$SECONDS" -lt 15 ]
  assert_output_contains "hook 20-fail: exit 9"
  assert_output_contains "hook 30-hang: timed out"
  v1=$(basename "$(version_dir 1)"); v2=$(basename "$(version_dir 2)")
  [ "$(cat hook.env)" = "production $v2 $v1 true" ]
  [ "$(jq -r .trigger hook.json)" = consecutive_failures ]
  [ "$(readlink models/versions/production)" = "$v1" ]
  # A manual rollback runs them too.
  mv_ promote 2 -q
  run -0 mv_ rollback --reason manual
  [ "$(cat hook.env)" = "production $v2 $v1 false" ]
}

@test "recording against a stage with no version exits 3 and creates nothing" {
  run -3 mv_ monitor record --stage canary --latency-ms 3
  assert_output_contains "points to no version"
  [ ! -e models/versions/monitor/canary ]
  run -3 mv_ --root "$WORK/none" monitor record --latency-ms 3
}

@test "status compares the window with the thresholds" {
  run -0 mv_ monitor thresholds --max-latency-ms 500 -q
  for _ in $(seq 10); do mv_ monitor record --latency-ms 300 --confidence 0.9; done
  run -0 mv_ monitor status
  assert_output_contains "10 predictions recorded, window 10/10"
  assert_output_contains "mean latency ms"
  [[ "$output" == *"300"*"<= 500"*ok* ]]
}
