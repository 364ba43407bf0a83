#!/usr/bin/env bats
# Eight processes at once on one store: writers queue on the lock (or exit 5 naming the
# holder), records from every process land, and nothing is lost or corrupt.

load helpers

@test "8 processes mixing create, promote, rollback, records, backup and cleanup: nothing lost, nothing corrupt" {
  mv_ create --adapter adapter --description base -q >/dev/null
  mv_ promote 1 -q
  mv_ ab create exp --control 1 --treatment 1 -q 2>/dev/null || true
  touch_adapter; mv_ create --adapter adapter --description second -q >/dev/null
  mv_ ab create exp --control 1 --treatment 2 -q
  mv_ ab start exp -q
  mv_ monitor thresholds --consecutive-failures 100000 --max-error-rate 1 --auto-rollback off -q
  worker() {
    local id=$1 rounds=6 i
    mkdir -p "src$id"
    for i in $(seq $rounds); do
      case $(( (id + i) % 6 )) in
        0) head -c 5000 /dev/urandom > "src$id/f.bin"; mv_ --lock-timeout 60 create --adapter "src$id" --description "w$id r$i" -q ;;
        1) mv_ --lock-timeout 60 promote latest -q ;;
        2) mv_ --lock-timeout 60 rollback --to 1 -q || [ $? -eq 4 ] ;;
        3) bm --lock-timeout 60 backup adapter --type conc -q ;;
        4) bm --lock-timeout 60 cleanup --keep-last 2 --execute -q ;;
        5) :;;
      esac > "log$id.$i" 2>&1 || echo "worker $id round $i: exit $?" >> failures
      for _ in 1 2 3 4 5; do
        mv_ monitor record --latency-ms 1 -q || echo "monitor record failed" >> failures
        mv_ ab record exp --variant control --correct 1 || echo "ab record failed" >> failures
      done
    done
  }
  for w in 1 2 3 4 5 6 7 8; do worker "$w" & done
  wait
  if [ -s failures ]; then cat failures; cat log*; return 1; fi
  # Every record from every process landed, each a whole JSON line.
  [ "$(cat models/versions/monitor/production/*.jsonl | wc -l)" -eq 240 ]
  jq -c . models/versions/monitor/production/*.jsonl >/dev/null
  [ "$(wc -l < models/versions/ab/exp/predictions.jsonl)" -eq 240 ]
  jq -c . models/versions/ab/exp/predictions.jsonl >/dev/null
  jq -c . models/versions/events.jsonl >/dev/null
  # Every create landed as a version, and every version and backup verifies.
  creates=$(grep -c '"event":"create"' models/versions/events.jsonl)
  [ "$(ls models/versions | grep -c '^v')" -eq "$creates" ]
  run -0 mv_ verify
  run -0 bm verify --all
  [ -z "$(find models -name '*.tmp*' | head -1)" ]
}

@test "a lock wait that times out exits 5 naming the holder; a killed holder frees the lock at once" {
  mv_ create --adapter adapter --description base -q >/dev/null
  # A holder that sleeps with the lock (the same flock the tools take), recorded as they record it.
  ( exec 9> models/.modelkeep/lock; flock 9
    printf '{"pid": %d, "host": "%s", "command": "test holder", "since": %d}' $BASHPID "$(hostname)" "$(date +%s)" >&9
    exec sleep 30 ) &
  holder=$!
  sleep 0.5
  run -5 mv_ --lock-timeout 0.3 promote 1
  assert_output_contains "store is locked by pid"
  assert_output_contains "test holder"
  kill -9 "$holder"
  wait "$holder" 2>/dev/null || true
  run -0 mv_ --lock-timeout 5 promote 1
}

@test "a writer that waits for the lock says whom it waits for, once; -q says nothing" {
  mv_ create --adapter adapter --description base -q >/dev/null
  ( exec 9> models/.modelkeep/lock; flock 9
    printf '{"pid": %d, "host": "%s", "command": "test holder", "since": %d}' $BASHPID "$(hostname)" "$(date +%s)" >&9
    exec sleep 2 ) &
  holder=$!
  sleep 0.3
  run -0 --separate-stderr mv_ --lock-timeout 20 tag 1 a=b
  [[ "$stderr" == *"store is locked by pid $holder (test holder)"*"waiting up to 20 s (--lock-timeout)..."* ]]
  [ "$(grep -c 'waiting up to' <<< "$stderr")" = 1 ]
  wait "$holder" 2>/dev/null || true
  ( exec 9> models/.modelkeep/lock; flock 9; exec sleep 2 ) &
  holder=$!
  sleep 0.3
  run -0 --separate-stderr mv_ -q --lock-timeout 20 tag 1 c=d
  [ -z "$stderr" ]
  wait "$holder" 2>/dev/null || true
}

@test "an interrupted command says what it left and that the next command cleans it" {
  mv_ create --adapter adapter --description base -q >/dev/null
  ( exec 9> models/.modelkeep/lock; flock 9; exec sleep 5 ) &
  holder=$!
  sleep 0.3
  "$MV" --lock-timeout 20 tag 1 a=b 2> interrupted.err &
  waiting=$!
  sleep 1
  kill -TERM "$waiting"
  status=0
  wait "$waiting" || status=$?
  [ "$status" = 143 ] # killed by the signal, as without the message
  grep -q "model-versioner: interrupted. Nothing that was finished is lost" interrupted.err
  kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
  run -0 mv_ tag 1 a=b
}
