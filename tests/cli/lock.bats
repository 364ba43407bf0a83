#!/usr/bin/env bats
# The store lock: one writer at a time, a clear message, no stale locks.

load helpers

hold_lock() {  # hold_lock SECONDS: takes the lock like a writer with pid 4242 would
  mkdir -p models/.modelkeep models/versions
  printf '{"pid":4242,"host":"%s","command":"model-versioner create","since":%s}\n' \
    "$(hostname)" "$(date +%s)" > models/.modelkeep/lock
  flock -x models/.modelkeep/lock sleep "$1" >/dev/null 2>&1 3>&- &
  HOLDER=$!
  for _ in $(seq 50); do
    flock -n -x models/.modelkeep/lock true 2>/dev/null || return 0
    sleep 0.05
  done
  echo "could not observe the lock being held"; return 1
}

release_lock() {
  pkill -P "$HOLDER" 2>/dev/null || true
  kill "$HOLDER" 2>/dev/null || true
}

@test "a second writer is refused with exit 5 after --lock-timeout" {
  hold_lock 5
  run -5 mv_ create --adapter adapter --description d --lock-timeout 0.3
  [[ "$output" =~ "model-versioner: error: store is locked by pid 4242 (model-versioner create) since "[0-9]{2}:[0-9]{2}:[0-9]{2} ]]
  [ -z "$(ls models/versions | grep '^v')" ]
  release_lock
}

@test "delete and restore also wait for the lock" {
  mv_ create --adapter adapter --description d
  hold_lock 5
  run -5 mv_ delete 1 --confirm --lock-timeout 0.2
  run -5 mv_ restore 1 --to elsewhere --lock-timeout 0.2
  [ -d "$(version_dir 1)" ]
  [ ! -e elsewhere ]
  release_lock
}

@test "a waiting writer proceeds once the holder lets go" {
  hold_lock 1
  run -0 mv_ create --adapter adapter --description d --lock-timeout 20
  [ "${lines[0]}" = v001 ]
}

@test "readers do not need the lock" {
  mv_ create --adapter adapter --description d
  hold_lock 5
  run -0 mv_ list
  run -0 mv_ verify
  run -0 mv_ show 1
  release_lock
}

@test "a writer killed with SIGKILL leaves no stale lock" {
  head -c 64000000 /dev/zero > adapter/big.bin
  MODELKEEP_FAILPOINT=create.after_copy run -137 mv_ create --adapter adapter --description d
  run -0 mv_ create --adapter adapter --description d --lock-timeout 0
}

@test "concurrent creates are serialised and get distinct numbers" {
  for i in 1 2 3 4; do
    mkdir "a$i" && head -c 100000 /dev/urandom > "a$i/w.bin"
  done
  for i in 1 2 3 4; do
    "$MV" create --adapter "a$i" --description "run $i" -q > "out$i" 2>&1 &
  done
  wait
  cat out1 out2 out3 out4 | sort > all
  [ "$(cat all)" = "$(printf 'v001\nv002\nv003\nv004')" ]
  run -0 mv_ verify
}
