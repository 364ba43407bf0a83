#!/usr/bin/env bats
# model-versioner serve: a real server on an ephemeral loopback port, driven with curl.

load helpers

setup() {
  setup_workdir
  command -v curl >/dev/null || skip "curl is not installed (scripts/install-deps.sh installs it)"
  SERVER_PID=
}

teardown() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
  # Under make test-sanitize: a report from AddressSanitizer, LeakSanitizer or UBSan in the
  # server (while serving or at shutdown) fails the test.
  local report=0
  if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$WORK"/serve.log 2>/dev/null; then
    cat "$WORK/serve.log"
    report=1
  fi
  teardown_workdir
  return "$report"
}

# start_server [serve flags...]: starts it, waits for its address, sets PORT, URL, TOKEN.
start_server() {
  "$MV" serve --listen 127.0.0.1:0 "$@" > serve.log 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q "^modelkeep registry" serve.log 2>/dev/null && break; sleep 0.05; done
  PORT=$(grep -o '127.0.0.1:[0-9]*' serve.log | head -1 | cut -d: -f2)
  [ -n "$PORT" ] || { cat serve.log; return 1; }
  URL="http://127.0.0.1:$PORT/api/v1"
  TOKEN=$(cat models/.modelkeep/serve-token)
}

# api METHOD PATH [JSON]: the response body in $output, the HTTP status in $status_code.
api() {
  local method=$1 path=$2 data=${3:-}
  local args=(-s -o response.json -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  status_code=$(curl "${args[@]}" "$URL/$path")
  output=$(cat response.json)
}

two_versions() {
  mv_ create --adapter adapter --description first --metric f1_score=0.8 -q
  touch_adapter
  mv_ create --adapter adapter --description second --metric f1_score=0.9 -q
}

@test "every read route answers with the CLI's JSON" {
  two_versions
  mv_ promote 1 -q
  mv_ ab create exp --control 1 --treatment 2 -q
  bm backup adapter -q >/dev/null
  start_server
  [ "$(stat -c %a models/.modelkeep/serve-token)" = 600 ]
  [ "$(wc -c < models/.modelkeep/serve-token)" = 65 ]
  api GET versions; [ "$status_code" = 200 ]
  [ "$(jq -r '.versions | length' <<< "$output")" = 2 ]
  [ "$(jq -S .versions <<< "$output")" = "$(mv_ list --json | jq -S .versions)" ]
  api GET versions/2; [ "$status_code" = 200 ]
  [ "$(jq -r .description <<< "$output")" = second ]
  api GET stages; [ "$(jq -r .stages.production <<< "$output")" = "$(basename models/versions/v001_*)" ]
  api GET next; [ "$status_code" = 200 ]
  api GET history; [ "$(jq -r '[.events[].event] | index("promote") != null' <<< "$output")" = true ]
  api GET "history?at=2000-01-01T00:00:00Z"; [ "$status_code" = 200 ]
  # The test adapters are random bytes named .safetensors: diff reads them and says so.
  api GET "diff?a=1&b=2"; [ "$status_code" = 400 ]; [ "$(jq -r .code <<< "$output")" = malformed ]
  [ "$(jq -r .detail <<< "$output")" = "$(mv_ diff 1 2 --json 2>/dev/null | jq -r .error)" ]
  api GET ab; [ "$(jq -r '.tests[0].id' <<< "$output")" = exp ]
  api GET ab/exp; [ "$(jq -r .status <<< "$output")" = draft ]
  api GET ab/exp/status; [ "$status_code" = 200 ]
  api GET monitor/production/thresholds; [ "$(jq -r .window <<< "$output")" = 100 ]
  api GET monitor/production/status; [ "$status_code" = 200 ]
  api GET rollbacks; [ "$status_code" = 200 ]
  api GET backups; [ "$(jq -r '.backups[0].status' <<< "$output")" = verified ]
  api GET catalog; [ "$(jq -r '.models[0].model' <<< "$output")" = default ]
  # Reads are open on loopback.
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/versions")" = 200 ]
}

@test "pagination walks every version with limit and cursor" {
  for i in $(seq 5); do touch_adapter; mv_ create --adapter adapter --description "v$i" -q; done
  start_server
  seen=() cursor=
  while :; do
    api GET "versions?limit=2${cursor:+&cursor=$cursor}"
    [ "$status_code" = 200 ]
    seen+=($(jq -r '.versions[].id' <<< "$output"))
    cursor=$(jq -r '.next_cursor // empty' <<< "$output")
    [ -n "$cursor" ] || break
  done
  [ "${seen[*]}" = "v001 v002 v003 v004 v005" ]
  api GET "versions?limit=0"; [ "$status_code" = 400 ]
  api GET "versions?cursor=nope"; [ "$status_code" = 404 ]
}

@test "mutations: promote (idempotent), status, rollback, A/B and monitoring through the API" {
  two_versions
  start_server
  api POST promote '{"version": "1", "reason": "api"}'; [ "$status_code" = 200 ]
  api POST promote '{"version": "2"}'; [ "$(jq -r .changed <<< "$output")" = true ]
  events=$(mv_ history --json | jq '.events | length')
  api POST promote '{"version": "2"}'; [ "$status_code" = 200 ]
  [ "$(jq -r .changed <<< "$output")" = false ]
  [ "$(mv_ history --json | jq '.events | length')" = "$events" ]
  api POST rollback '{"reason": "bad"}'; [ "$status_code" = 200 ]
  [ "$(jq -r .to <<< "$output")" = "$(basename models/versions/v001_*)" ]
  api POST versions/2/status '{"status": "archived", "reason": "old"}'; [ "$status_code" = 200 ]
  [ "$(mv_ show 2 --json | jq -r .status)" = archived ]
  api POST ab '{"id": "t1", "control": "1", "treatment": "2", "strategy": "sticky"}'; [ "$status_code" = 200 ]
  api POST ab/t1/start; [ "$status_code" = 200 ]
  api GET "ab/t1/route?user=alice"; [ "$status_code" = 200 ]
  variant=$(jq -r .variant <<< "$output")
  [ "$(mv_ ab route t1 --user alice --json | jq -r .variant)" = "$variant" ]
  api POST ab/t1/record '{"variant": "control", "correct": true, "latency_ms": 4}'; [ "$status_code" = 200 ]
  [ "$(jq -r .recorded <<< "$output")" = true ]
  api POST ab/t1/conclude '{"promote_winner": true}'
  [ "$status_code" = 200 ] || [ "$status_code" = 409 ]
  api PUT monitor/production/thresholds '{"window": 10, "auto_rollback": false}'; [ "$status_code" = 200 ]
  first=$output
  [ "$(jq -r .changed <<< "$output")" = true ] && [ "$(jq -r .auto_rollback <<< "$output")" = false ]
  api PUT monitor/production/thresholds '{"window": 10, "auto_rollback": false}'; [ "$status_code" = 200 ]
  [ "$(jq -S 'del(.changed)' <<< "$output")" = "$(jq -S 'del(.changed)' <<< "$first")" ]
  [ "$(jq -r .changed <<< "$output")" = false ] && [ "$(jq -r .window <<< "$output")" = 10 ]
  api POST monitor/production/record '{"latency_ms": 3, "correct": 1, "confidence": 0.9}'; [ "$status_code" = 200 ]
  [ "$(jq -r .rolled_back <<< "$output")" = false ]
  [ "$(mv_ monitor status --json | jq -r .recorded)" -ge 1 ]
}

@test "a monitored prediction over the API can roll production back and returns the event" {
  two_versions
  mv_ promote 1 -q; mv_ promote 2 -q
  mv_ monitor thresholds --consecutive-failures 2 -q
  start_server
  api POST monitor/production/record '{"error": true, "error_kind": "runtime"}'
  [ "$(jq -r .rolled_back <<< "$output")" = false ]
  api POST monitor/production/record '{"error": true, "error_kind": "runtime"}'
  [ "$status_code" = 200 ]
  [ "$(jq -r .rolled_back <<< "$output")" = true ]
  [ "$(jq -r .event.automatic <<< "$output")" = true ]
  api GET rollbacks; [ "$(jq -r '.rollbacks | length' <<< "$output")" = 1 ]
}

@test "errors are problem documents with the CLI's codes" {
  two_versions
  start_server --lock-timeout 0
  api GET versions/99; [ "$status_code" = 404 ]
  [ "$(jq -r .code <<< "$output")" = not_found ]
  [ "$(curl -s -o /dev/null -w '%{content_type}' "$URL/versions/99")" = application/problem+json ]
  api POST rollback '{}'; [ "$status_code" = 409 ]; [ "$(jq -r .code <<< "$output")" = refused ]
  api POST promote '{"version": "1", "force": true}'; [ "$status_code" = 400 ]
  assert_output_contains "unknown field 'force'"
  api POST promote '{"version": "--help"}'; [ "$status_code" = 400 ]
  assert_output_contains "invalid version '--help'"
  api POST promote 'not json'; [ "$status_code" = 400 ]; [ "$(jq -r .code <<< "$output")" = malformed ]
  api POST promote '{}'; [ "$status_code" = 400 ]
  api GET nowhere; [ "$status_code" = 404 ]
  api GET "versions?model=../x"; [ "$status_code" = 400 ]
  # The store is locked by another writer: 503 with Retry-After.
  flock models/.modelkeep/lock sleep 5 &
  holder=$!
  sleep 0.3
  headers=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" --data '{"version":"2"}' \
    "$URL/promote" 2>&1)
  kill "$holder"; wait "$holder" 2>/dev/null || true
  [[ "$headers" == *" 503 "* ]]
  [[ "${headers,,}" == *"retry-after: "* ]]
  # No exception text or stack anywhere.
  ! grep -rq "std::\|terminate\|what()" response.json
}

@test "security: token for mutations, Host checked, body limit, malformed HTTP, no CORS" {
  two_versions
  start_server --lock-timeout 0
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{"version":"1"}' "$URL/promote")" = 401 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer wrong' --data '{"version":"1"}' "$URL/promote")" = 401 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example:80' "$URL/versions")" = 421 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: localhost:$PORT" "$URL/versions")" = 200 ]
  head -c 2000000 /dev/zero | tr '\0' 'a' > big
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" --data-binary @big "$URL/promote")" = 413 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Transfer-Encoding: chunked' --data-binary @big "$URL/promote")" = 413 ]
  # Garbage, a huge header, a half-sent request: answered or dropped, never a crash.
  printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$PORT" || true
  exec {conn}<>"/dev/tcp/127.0.0.1/$PORT"
  printf 'GET / HTTP/1.1\r\nX: %s\r\n\r\n' "$(head -c 40000 /dev/zero | tr '\0' x)" >&"$conn" || true
  exec {conn}>&-
  exec {conn}<>"/dev/tcp/127.0.0.1/$PORT"
  printf 'POST /api/v1/promote HTTP/1.1\r\nContent-Length: 100\r\n\r\n{' >&"$conn"
  exec {conn}>&-
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/versions")" = 200 ]
  headers=$(curl -s -D - -o /dev/null -H 'Origin: http://evil.example' "$URL/versions")
  [[ "${headers,,}" != *access-control* ]]
  kill -0 "$SERVER_PID"
}

@test "the dashboard login: a one-time link becomes a SameSite=Strict cookie that can promote" {
  two_versions
  start_server
  code=$(grep -o '?token=[0-9a-f]*' serve.log | cut -d= -f2)
  headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/?token=$code")
  [[ "$headers" == *" 303 "* ]]
  cookie=$(grep -io 'set-cookie: [^;]*' <<< "$headers" | cut -d' ' -f2)
  [[ "$headers" == *"SameSite=Strict"* && "$headers" == *HttpOnly* ]]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/?token=$code")" = 401 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -b "$cookie" --data '{"version":"1"}' "$URL/promote")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -b "$cookie" -H 'Origin: http://evil.example' --data '{"version":"2"}' "$URL/promote")" = 401 ]
  page=$(curl -s "http://127.0.0.1:$PORT/")
  [[ "$page" == *"modelkeep registry"* ]]
  [[ "$page" != *"http://"*"cdn"* ]]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/dashboard.js")" = 200 ]
}

@test "a token file others can read is refused; --token-file and --unix work" {
  two_versions
  mkdir -p models/.modelkeep
  echo "0123456789abcdef0123456789abcdef0123456789abcdef" > models/.modelkeep/serve-token
  chmod 644 models/.modelkeep/serve-token
  run -4 mv_ serve --listen 127.0.0.1:0
  assert_output_contains "chmod 600"
  echo "fedcba9876543210fedcba9876543210fedcba9876543210" > tok && chmod 600 tok
  "$MV" serve --unix "$WORK/s.sock" --token-file "$WORK/tok" > serve.log 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do [ -S s.sock ] && break; sleep 0.05; done
  [ "$(stat -c %a s.sock)" = 600 ]
  [ "$(curl -s --unix-socket s.sock http://x/api/v1/versions | jq '.versions | length')" = 2 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket s.sock -X POST -H "Authorization: Bearer $(cat tok)" --data '{"version":"2"}' http://x/api/v1/promote)" = 200 ]
  run -2 mv_ serve --listen nonsense
  run -2 mv_ serve --listen 127.0.0.1:99999
}

@test "named models through ?model=" {
  mv_ --model alpha create --adapter adapter --description a -q
  start_server
  api GET "versions?model=alpha"; [ "$(jq -r '.versions[0].description' <<< "$output")" = a ]
  api POST "promote?model=alpha" '{"version": "1"}'; [ "$status_code" = 200 ]
  [ -L models/alpha/versions/production ]
  api GET "stages"; [ "$status_code" = 404 ]
}

@test "a CLI promote and an API rollback at the same time are both logged and consistent" {
  two_versions
  touch_adapter; mv_ create --adapter adapter --description third -q
  mv_ promote 2 -q
  start_server
  for i in $(seq 5); do
    # From v1 each round: the CLI promotes v3 while the API rolls back to v2; in either order
    # both succeed and the last event names the holder.
    mv_ promote 1 -q
    mv_ --lock-timeout 30 promote 3 -q &
    cli=$!
    api POST rollback '{"to": "2"}'
    wait "$cli"
    [ "$status_code" = 200 ]
    holder=$(readlink models/versions/production)
    last=$(mv_ history --stage production --json | jq -r '.events[0].to')
    [ "$holder" = "$last" ]
  done
  [ "$(mv_ history --stage production --json | jq '[.events[] | select(.event == "rollback")] | length')" = 5 ]
  mv_ verify -q
}

@test "50 parallel clients are all answered" {
  two_versions
  start_server --threads 4
  clients=()
  for i in $(seq 50); do
    curl -s -o "out.$i" -w '%{http_code}\n' "$URL/versions/$(( i % 2 + 1 ))" >> codes &
    clients+=($!)
  done
  wait "${clients[@]}"
  [ "$(grep -c '^200$' codes)" = 50 ]
  for i in $(seq 50); do jq -e .name "out.$i" >/dev/null; done
}

@test "requests are read strictly: NUL, long fields, JSON types, + in paths, HEAD and 405, allowed hosts" {
  two_versions
  touch_adapter
  mv_ create --adapter adapter --description third --semver 1.0.0+build.5 -q
  start_server --allow-host modelkeep.test
  # A NUL in a field or a path segment is refused; nothing is created under a shorter name.
  api POST promote '{"version": "2", "stage": "x\u0000y"}'; [ "$status_code" = 400 ]
  assert_output_contains "contains a NUL character"
  [ ! -e models/versions/x ]
  api GET versions/v001%00x; [ "$status_code" = 400 ]
  api PUT monitor/prod%00x/thresholds '{"window": 10}'; [ "$status_code" = 400 ]
  [ ! -e models/versions/monitor/prod ]
  # A reason of 200 KiB is an ordinary field (no argument list to overflow).
  { printf '{"version": "1", "reason": "'; head -c 204800 /dev/zero | tr '\0' r; printf '"}'; } > long.json
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" --data @long.json \
        "$URL/promote")" = 200 ]
  [ "$(mv_ history --json | jq -r '.events[0].reason | length')" = 204800 ]
  # Booleans are booleans.
  api PUT monitor/production/thresholds '{"auto_rollback": false}'; [ "$status_code" = 200 ]
  [ "$(jq -r .auto_rollback <<< "$output")" = false ]
  [ "$(mv_ monitor thresholds --json | jq -r .auto_rollback)" = false ]
  api PUT monitor/production/thresholds '{"auto_rollback": true}'; [ "$status_code" = 200 ]
  [ "$(jq -r .auto_rollback <<< "$output")" = true ]
  api PUT monitor/production/thresholds '{"auto_rollback": "off"}'; [ "$status_code" = 400 ]
  assert_output_contains "must be true or false"
  api PUT monitor/production/thresholds '{"auto_rollback": "true"}'; [ "$status_code" = 400 ]
  api PUT monitor/production/thresholds '{"window": "10"}'; [ "$status_code" = 400 ]
  api POST ab '{"id": "t9", "control": "1", "treatment": "2"}'; [ "$status_code" = 200 ]
  api POST ab/t9/start; api POST ab/t9/conclude '{"promote_winner": "yes"}'; [ "$status_code" = 400 ]
  [ "$(mv_ ab show t9 --json | jq -r .status)" = running ]
  api GET "versions?limit=abc"; [ "$status_code" = 400 ]
  api GET "versions?colour=red"; [ "$status_code" = 400 ]; assert_output_contains "unknown query parameter 'colour'"
  # + is a plus in a path (RFC 3986), a space in a query.
  api GET versions/1.0.0+build.5; [ "$status_code" = 200 ]
  [ "$(jq -r .description <<< "$output")" = third ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/versions/1.0.0%2Bbuild.5")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/versions/%zz")" = 400 ]
  # HEAD: the GET's headers, no body. A wrong method on a route: 405 with Allow.
  headers=$(curl -s -I "$URL/versions/1")
  [[ "$headers" == *"HTTP/1.1 200"* ]]
  length=$(grep -i '^content-length:' <<< "$headers" | tr -dc 0-9)
  [ "$length" = "$(curl -s "$URL/versions/1" | wc -c)" ]
  exec 7<>"/dev/tcp/127.0.0.1/$PORT"
  printf 'HEAD /api/v1/versions/1 HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$PORT" >&7
  raw=$(timeout 5 cat <&7); exec 7<&-
  [[ "$raw" == *"HTTP/1.1 200"* ]] && [[ "$raw" != *'"description"'* ]]
  headers=$(curl -s -D - -o response.json -X DELETE -H "Authorization: Bearer $TOKEN" "$URL/versions/1")
  [[ "$headers" == *"HTTP/1.1 405"* ]]
  [[ "${headers,,}" == *"allow: get, head"* ]]
  [ "$(jq -r .code < response.json)" = method_not_allowed ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$URL/versions")" = 405 ]
  # --allow-host: a name for the machine is accepted, others still are not.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: modelkeep.test:$PORT" "$URL/versions")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: other.test:$PORT" "$URL/versions")" = 421 ]
}

@test "serve: a relative token file, a missing root (exit 3, nothing created), no child processes" {
  two_versions
  run -3 mv_ serve --root "$WORK/no/such" --listen 127.0.0.1:0
  assert_output_contains "$WORK/no/such"
  [ ! -e "$WORK/no" ]
  mkdir sub && cd sub
  "$MV" serve --root "$WORK/models" --listen 127.0.0.1:0 --token-file tok > ../serve.log 2>&1 &
  SERVER_PID=$!
  cd "$WORK"
  for _ in $(seq 100); do grep -q "^modelkeep registry" serve.log 2>/dev/null && break; sleep 0.05; done
  [ -f sub/tok ] && [ "$(stat -c %a sub/tok)" = 600 ]
  PORT=$(grep -o '127.0.0.1:[0-9]*' serve.log | head -1 | cut -d: -f2)
  URL="http://127.0.0.1:$PORT/api/v1"; TOKEN=$(cat sub/tok)
  api POST promote '{"version": "2"}'; [ "$status_code" = 200 ]
  # Every route runs in the server's process: nothing in the server starts a program.
  ! grep -n "run_process\|fork\|exec[lv]" "$MODELKEEP_SOURCE_DIR"/versioner/serve/*.cpp
  [ -z "$(pgrep -P "$SERVER_PID")" ]
}

@test "POST versions/N/verify checks one version: damage is an answer (ok false), not an error" {
  two_versions
  start_server
  api POST versions/1/verify; [ "$status_code" = 200 ]; [ "$(jq -r .ok <<< "$output")" = true ]
  [ "$(jq -r '.versions[0].file_count' <<< "$output")" -ge 1 ]
  flip_byte "$(version_dir 1)/adapter/adapter_model.safetensors" 100
  api POST versions/1/verify; [ "$status_code" = 200 ]; [ "$(jq -r .ok <<< "$output")" = false ]
  [ "$(jq -r '.versions[0].modified[0]' <<< "$output")" = adapter/adapter_model.safetensors ]
  # The damaged stored copy is recorded, as the CLI's verify records it.
  grep -q . models/.modelkeep/damaged.json
  # It writes that record: the token is needed.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/versions/1/verify")" = 401 ]
  api POST versions/9/verify; [ "$status_code" = 404 ]
}

@test "every route's document is the CLI's --json document" {
  two_versions
  mv_ promote 1 -q
  mv_ ab create exp --control 1 --treatment 2 -q
  start_server
  same() { # same API_PATH CLI_ARGS...: the API's body equals the CLI's --json output
    local path=$1; shift
    api GET "$path"
    [ "$status_code" = 200 ] || { echo "GET $path: $status_code $output"; return 1; }
    local cli; cli=$(mv_ "$@" --json | jq -S .)
    [ "$(jq -S . <<< "$output")" = "$cli" ] || { echo "GET $path differs from $*"; diff <(jq -S . <<< "$output") <(echo "$cli"); return 1; }
  }
  api GET versions; [ "$(jq -S .versions <<< "$output")" = "$(mv_ list --json | jq -S .versions)" ]
  same versions/2 show 2
  same next next
  same history history
  same "history?stage=production" history --stage production
  same "history?at=2030-01-01T00:00:00Z" history --at 2030-01-01T00:00:00Z
  same ab ab list
  same ab/exp ab show exp
  same ab/exp/status ab status exp
  same monitor/production/thresholds monitor thresholds
  same monitor/production/status monitor status
  same "rollbacks?stage=production" monitor history
  same catalog catalog
  bm backup adapter -q >/dev/null
  api GET backups; [ "$(jq -S . <<< "$output")" = "$(bm list --json | jq -S .)" ]
  api POST versions/2/verify; [ "$(jq -S . <<< "$output")" = "$(mv_ verify 2 --json | jq -S .)" ]
  # Writes that change nothing give the same document both ways.
  api POST promote '{"version": "1"}'; [ "$(jq -S . <<< "$output")" = "$(mv_ promote 1 --json | jq -S .)" ]
  api PUT monitor/production/thresholds '{"window": 50}'; [ "$(jq -r .changed <<< "$output")" = true ]
  api PUT monitor/production/thresholds '{"window": 50}'
  [ "$(jq -S . <<< "$output")" = "$(mv_ monitor thresholds --window 50 --json | jq -S .)" ]
}
