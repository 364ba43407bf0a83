#!/usr/bin/env bats
# Full disks and read-only stores for model-versioner: a clear error (exit 1 naming the path
# and "No space left on device" or "Read-only file system"), and nothing half-changed.

load helpers

teardown() {
  umount "$WORK/small" 2>/dev/null || true
  umount "$WORK/ro" 2>/dev/null || true
  teardown_workdir
}

@test "create on a disk too small: a clear error, no version, the store still works" {
  mkdir small
  mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  head -c 3000000 /dev/urandom > adapter/big.bin
  run -1 mv_ --root small/models create --adapter adapter --description big
  assert_output_contains "No space left on device"
  assert_output_contains "small/models"
  run -0 mv_ --root small/models list
  assert_output_contains "No versions found"
}

@test "create that fills the disk midway (out of inodes): a clear error, no partial version, the next create works" {
  mkdir small
  mount -t tmpfs -o size=64m,nr_inodes=60 tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  mkdir many
  for i in $(seq 80); do echo "$i" > "many/f$i.txt"; done
  source_sum=$(tree_sum many)
  run -1 mv_ --root small/models create --adapter many --description many
  assert_output_contains "No space left on device"
  [ "$(tree_sum many)" = "$source_sum" ]
  run -0 mv_ --root small/models list
  assert_output_contains "No versions found"
  run -0 mv_ --root small/models create --adapter adapter --description small -q
  [ -z "$(find small/models -name '*.tmp*')" ]
  run -0 mv_ --root small/models verify
}

@test "restore into a full disk: a clear error and the target as it was" {
  head -c 3000000 /dev/urandom > adapter/big.bin
  mv_ create --adapter adapter --description big -q >/dev/null
  mkdir small
  mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  mkdir small/target && echo old > small/target/keep.txt
  run -1 mv_ restore 1 --to small/target
  assert_output_contains "No space left on device"
  [ "$(cat small/target/keep.txt)" = old ]
  [ "$(ls small/target)" = keep.txt ]
}

@test "a read-only store: promote and create fail clearly and change nothing" {
  mv_ create --adapter adapter --description one -q >/dev/null
  before=$(tree_sum models)
  mkdir ro && mount --bind models ro 2>/dev/null && mount -o remount,bind,ro ro 2>/dev/null \
    || skip "cannot make a read-only bind mount here"
  run -1 mv_ --root ro promote 1
  assert_output_contains "Read-only file system"
  touch_adapter
  run -1 mv_ --root ro create --adapter adapter --description two
  assert_output_contains "Read-only file system"
  umount ro
  [ "$(tree_sum models)" = "$before" ]
}
