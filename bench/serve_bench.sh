#!/usr/bin/env bash
# make bench: requests per second and p99 latency of `model-versioner serve` on loopback,
# measured with wrk (2 threads, 16 connections, 5 s per route) against a store of 100 versions.
# usage: serve_bench.sh MODEL_VERSIONER WORK_DIR OUT.json
set -euo pipefail
mv=$1 work=$2 out=$3
command -v wrk >/dev/null || { echo "serve_bench: wrk is not installed (scripts/install-deps.sh --bench)" >&2; exit 1; }
rm -rf "$work/serve" && mkdir -p "$work/serve/adapter" && cd "$work/serve"
export MODELKEEP_ROOT=$PWD/models
printf '{"peft_type": "LORA", "r": 4}\n' > adapter/adapter_config.json
for i in $(seq 100); do
  head -c 4096 /dev/urandom > adapter/adapter_model.safetensors
  "$mv" create --adapter adapter --description "bench $i" --metric "f1_score=0.$((i % 90 + 10))" -q >/dev/null
done
"$mv" promote 100 -q
"$mv" monitor thresholds --auto-rollback off --window 1000 -q
"$mv" serve --listen 127.0.0.1:0 --threads 8 > serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^modelkeep registry' serve.log && break; sleep 0.05; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' serve.log | head -1)
token=$(cat models/.modelkeep/serve-token)
cat > record.lua <<LUA
wrk.method = "POST"
wrk.body = '{"latency_ms": 12.5, "correct": true, "confidence": 0.9}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
measure() {  # measure WORK PATH [wrk args...]
  local work=$1 path=$2
  shift 2
  local report rps p99
  report=$(wrk -t2 -c16 -d5s --latency "$@" "$url$path")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<< "$report")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<< "$report")
  jq -n --arg work "$work" --argjson rps "$rps" --argjson p99 "$p99" '{work: $work, requests_per_second: $rps, p99_ms: $p99}'
}
{
  measure "GET /api/v1/stages (in process)" /api/v1/stages
  measure "GET /api/v1/versions/50 (show)" /api/v1/versions/50
  measure "GET /api/v1/versions?limit=100 (list)" "/api/v1/versions?limit=100"
  measure "POST /api/v1/monitor/production/record" /api/v1/monitor/production/record -s record.lua
} | jq -s '{requests: .}' > "$out"
echo "serve_bench: $(jq -c '.requests[] | [.work, (.requests_per_second|floor), .p99_ms]' "$out" | tr '\n' ' ')"
