#!/usr/bin/env bats
# backup-manager verify: every kind of damage is caught and recorded.

load helpers

setup() {
  setup_workdir
  BACKUP=$(bm backup adapter -q)
  DATA=$BACKUP/data
}

@test "a good backup verifies and the result is recorded" {
  run -0 bm verify "$BACKUP"
  assert_output_contains ": OK (2 files,"
  [ "$(jq -r .verification.result "$BACKUP/backup.json")" = verified ]
}

@test "a flipped byte: caught by the full check only" {
  flip_byte "$DATA/adapter_model.safetensors" 7
  run -0 bm verify --quick "$BACKUP"
  run -1 bm verify "$BACKUP"
  assert_output_contains "checksum differs: adapter_model.safetensors"
  [ "$(jq -r .verification.result "$BACKUP/backup.json")" = failed ]
  run -0 bm list
  assert_output_contains failed
}

@test "a truncated file: size and total reported, also in quick mode" {
  truncate -s 100 "$DATA/adapter_model.safetensors"
  run -1 bm verify --quick "$BACKUP"
  assert_output_contains "size differs: adapter_model.safetensors (expected 20000 bytes)"
  assert_output_contains "total size: expected"
}

@test "a deleted critical file and an extra file" {
  rm "$DATA/adapter_config.json"
  echo surprise > "$DATA/extra.bin"
  run -1 bm verify --quick "$BACKUP"
  assert_output_contains "critical file missing: adapter_config.json"
  assert_output_contains "missing: adapter_config.json"
  assert_output_contains "extra: extra.bin"
}

@test "a deleted file changes the count" {
  mkdir -p adapter2 && cp adapter/* adapter2/ && echo x > adapter2/notes.txt
  b2=$(bm backup adapter2 -q)
  rm "$b2/data/notes.txt"
  run -1 bm verify --quick "$b2"
  assert_output_contains "file count: expected 3, found 2"
}

@test "a damaged archive is caught" {
  zb=$(bm backup adapter -q --format tar.zst)
  size=$(stat -c %s "$zb/data.tar.zst")
  printf 'XXXX' | dd of="$zb/data.tar.zst" bs=1 seek=$((size / 2)) conv=notrunc status=none
  run -1 bm verify "$zb"
  tb=$(bm backup adapter -q --format tar)
  flip_byte "$tb/data.tar" 1600
  run -1 bm verify "$tb"
  assert_output_contains "checksum differs"
}

@test "--all and --subset: the slices cover every backup exactly once" {
  for i in 1 2 3 4 5; do bm backup adapter -q --type "t$i" >/dev/null; done
  total=0
  for n in 1 2 3; do
    run -0 bm verify --all --subset "$n/3" --json
    total=$((total + $(echo "$output" | jq '.backups | length')))
  done
  [ "$total" = 6 ]
  run -0 bm verify --all --json
  [ "$(echo "$output" | jq '.backups | length')" = 6 ]
}

@test "usage errors" {
  run -2 bm verify
  run -2 bm verify --all "$BACKUP"
  run -2 bm verify --all --subset 4/3
  run -2 bm verify --all --subset x
  run -2 bm verify "$BACKUP" --subset 1/2
}
