#!/usr/bin/env bats
# The dashboard in a real browser (headless chromium over the DevTools protocol): it shows the
# store's versions and metric, and its promote button works with the one-time login. Runs when
# chromium is installed (`make test-browser` installs it); the screenshot is left in the build
# directory as dashboard.png.

load helpers

setup() {
  setup_workdir
  CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
  [ -n "$CHROMIUM" ] || skip "chromium is not installed (make test-browser installs it)"
  command -v python3 >/dev/null || skip "python3 is not installed"
  SERVER_PID=
}

teardown() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
  teardown_workdir
}

@test "the dashboard shows the versions and the chart of the store, and promote works with the login" {
  for f1 in 0.71 0.78 0.83 0.80; do
    touch_adapter
    mv_ create --adapter adapter --description "run with f1 $f1" --metric "f1_score=$f1" -q
  done
  mv_ promote 2 -q
  mv_ ab create exp --control 2 --treatment 3 -q
  mv_ ab start exp -q
  for _ in $(seq 30); do
    mv_ ab record exp --variant control --correct 0 -q; mv_ ab record exp --variant treatment --correct 1 -q
  done
  mv_ ab conclude exp --promote-winner -q
  for _ in 1 2 3 4 5; do mv_ promote 2 -q; mv_ promote 3 -q; done
  mv_ monitor record --latency-ms 12 --correct 1 -q
  "$MV" serve --listen 127.0.0.1:0 > serve.log 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q '?token=' serve.log 2>/dev/null && break; sleep 0.05; done
  login=$(grep -o 'http://[^ ]*?token=[0-9a-f]*' serve.log)
  v4=$(basename models/versions/v004_*)
  run -0 python3 "$MODELKEEP_SOURCE_DIR/tests/browser/dashboard_check.py" "$CHROMIUM" "$login" "$v4" \
    "$MODELKEEP_BUILD_DIR/dashboard.png"
  shown=$output
  # The table: every version of the store, in order, with its metric and stage marks.
  [ "$(jq -r '[.rows[].version] | join(" ")' <<< "$shown")" = "$(mv_ list --json | jq -r '[.versions[].name] | join(" ")')" ]
  [ "$(jq -r '.rows[2].cells[4]' <<< "$shown")" = 0.830 ]
  [[ "$(jq -r '.rows[2].cells[3]' <<< "$shown")" == *production* ]]
  # The chart: one point per version, at its metric.
  [ "$(jq -r '[.points[].value] | join(" ")' <<< "$shown")" = "0.71 0.78 0.83 0.8" ]
  [ "$(jq -r .timeline <<< "$shown")" = 10 ] # the newest ten of twelve moves
  [ "$(jq -r .timeline_more <<< "$shown")" = "show all 12" ]
  # Short ids in the timeline (the full name is the tooltip), the login shown, empty tables say so.
  [ "$(jq -r '.timeline_cells[0][4]' <<< "$shown")" = v003 ]
  [[ "$(jq -r .before_login <<< "$shown")" == read-only* ]]
  [[ "$(jq -r .auth <<< "$shown")" == "logged in"* ]]
  [[ "$(jq -r '.backups[0]' <<< "$shown")" == "no backups"* ]]
  # A concluded A/B test shows its winner and p-value.
  [[ "$(jq -r '.ab[0][8]' <<< "$shown")" == "winner treatment, p 0.000 (significant)" ]]
  # Monitoring names the version it watches and how full its window is; no data is not green.
  [ "$(jq -r .monitor_head <<< "$shown")" = "Monitoring (production: v003)" ]
  [ "$(jq -r '.monitor[-1][1]' <<< "$shown")" = "1 / 100" ]
  [[ "$(jq -r '.monitor[-1][2]' <<< "$shown")" == "window not full yet"* ]]
  [ "$(jq -r .monitor_no_data_class <<< "$shown")" = muted ]
  # Rolling back is possible (v002 held production before v003).
  [ "$(jq -r .rollback_disabled <<< "$shown")" = false ]
  # The click promoted v4, through the API, as the store shows.
  [[ "$(jq -r .after_click <<< "$shown")" == *"-> $v4"* ]]
  [ "$(readlink models/versions/production)" = "$v4" ]
  [ "$(mv_ history --json | jq -r '.events[0].reason')" = dashboard ]
  [ -s "$MODELKEEP_BUILD_DIR/dashboard.png" ]
}

@test "with nothing to roll back to, the rollback button is disabled until there is" {
  mv_ create --adapter adapter --description first -q
  touch_adapter
  mv_ create --adapter adapter --description second -q
  mv_ promote 1 -q
  "$MV" serve --listen 127.0.0.1:0 > serve.log 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q '?token=' serve.log 2>/dev/null && break; sleep 0.05; done
  login=$(grep -o 'http://[^ ]*?token=[0-9a-f]*' serve.log)
  v2=$(basename models/versions/v002_*)
  run -0 python3 "$MODELKEEP_SOURCE_DIR/tests/browser/dashboard_check.py" "$CHROMIUM" "$login" "$v2" "$WORK/two.png"
  [ "$(jq -r .rollback_disabled <<< "$output")" = true ]
  [ "$(jq -r .rollback_disabled_after <<< "$output")" = false ]
  [[ "$(jq -r '.ab[0][0]' <<< "$output")" == "no A/B tests"* ]]
  [ "$(jq -r '.monitor[0][3]' <<< "$output")" = "no data" ]
}
