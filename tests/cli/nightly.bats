#!/usr/bin/env bats
# scripts/nightly-retention.sh and scripts/modelkeep.mk

load helpers

NIGHTLY() { MODELKEEP_BACKUP_MANAGER="$BM" "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh" "$@"; }

aged_backup() {  # aged_backup DAYS_AGO
  local path when
  path=$(bm backup adapter -q)
  when=$(date -u -d "@$(( $(date +%s) - $1 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
  jq --arg t "$when" '.created_at = $t' "$path/backup.json" > "$path/backup.json.new" && mv "$path/backup.json.new" "$path/backup.json"
}

@test "a good night is silent, verifies a slice, applies the policy and logs" {
  for d in 30 20 2 1; do aged_backup "$d"; done
  MODELKEEP_RETENTION_DAYS=10 MODELKEEP_VERIFY_SLICES=1 run -0 --separate-stderr NIGHTLY
  [ -z "$output" ] && [ -z "$stderr" ]
  [ "$(ls models/backups/emergency | wc -l)" = 2 ]
  grep -q "verifying slice 1/1" models/.modelkeep/nightly.log
  grep -q "cleanup --retention-days 10" models/.modelkeep/nightly.log
  grep -q "done" models/.modelkeep/nightly.log
}

@test "the policy can come from a config file (environment wins)" {
  for d in 30 20 2; do aged_backup "$d"; done
  printf 'MODELKEEP_KEEP_LAST=1\n# a comment\nMODELKEEP_VERIFY_SLICES=2\n' > nightly.conf
  run -0 NIGHTLY --config nightly.conf
  [ "$(ls models/backups/emergency | wc -l)" = 1 ]
  grep -Eq "verifying slice [12]/2" models/.modelkeep/nightly.log
}

@test "a damaged backup makes the night fail loudly" {
  path=$(bm backup adapter -q)
  flip_byte "$path/data/adapter_model.safetensors" 3
  MODELKEEP_VERIFY_SLICES=1 MODELKEEP_KEEP_LAST=5 run -1 NIGHTLY
  assert_output_contains "verification of slice 1/1 found problems"
  assert_output_contains "checksum differs: adapter_model.safetensors"
  [ -d "$path" ]
}

@test "two nights never overlap" {
  mkdir -p models/.modelkeep
  flock models/.modelkeep/nightly.lock sleep 3 >/dev/null 2>&1 3>&- &
  holder=$!
  sleep 0.3
  run -1 NIGHTLY
  assert_output_contains "another nightly run is still going"
  pkill -P "$holder" 2>/dev/null || true
  kill "$holder" 2>/dev/null || true
}

@test "with no policy only the verification runs" {
  aged_backup 400
  MODELKEEP_VERIFY_SLICES=1 run -0 NIGHTLY
  [ "$(ls models/backups/emergency | wc -l)" = 1 ]
  grep -q "cleanup skipped" models/.modelkeep/nightly.log
}

@test "modelkeep.mk drives the tools from a training Makefile" {
  cat > Makefile <<MK
MODELKEEP_ROOT = $WORK/models
MODELKEEP_ADAPTER = adapter
MODELKEEP_BIN = $MODELKEEP_BUILD_DIR/
MODEL_VERSIONER = $MV
BACKUP_MANAGER = $BM
include $MODELKEEP_SOURCE_DIR/scripts/modelkeep.mk
MK
  run -2 make -s snapshot
  assert_output_contains "set MODELKEEP_DESCRIPTION"
  run -0 make -s snapshot MODELKEEP_DESCRIPTION="from make"
  assert_output_contains v001
  run -0 make -s backup
  run -0 make -s versions
  assert_output_contains "from make"
  run -0 make -s verify
  MODELKEEP_VERIFY_SLICES=1 run -0 make -s nightly
}
