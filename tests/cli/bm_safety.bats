#!/usr/bin/env bats
# backup-manager under attack and under stress: hostile archives, kills, a full disk.

load helpers

# Puts a hand-made archive into the store as a backup whose record lists `listed` files.
plant_backup() {  # plant_backup NAME TARFILE
  local dir=models/backups/emergency/$1
  mkdir -p "$dir" models/versions
  cp "$2" "$dir/data.tar"
  cat > "$dir/backup.json" <<JSON
{"schema_version": 1, "type": "emergency", "source": "$WORK/adapter", "created_at": "2025-01-01T00:00:00Z",
 "format": "tar", "file_count": 1, "total_size": 2,
 "files": [{"path": "x", "size": 2, "mode": 420, "sha256": "$(printf 'x\n' | sha256sum | cut -d' ' -f1)"}],
 "critical_files": [], "verification": {"result": "verified"}}
JSON
}

@test "archives with ../x, /abs/x or an escaping symlink are refused, nothing written outside" {
  mkdir -p src/inner && printf 'x\n' > src/x
  (cd src/inner && tar -cf "$WORK/dotdot.tar" -P ../x)
  tar -cf absolute.tar -P "$WORK/src/x"
  ln -s /etc src/escape && (cd src && tar -cf "$WORK/symlink.tar" escape x)
  for evil in dotdot absolute symlink; do
    plant_backup "$evil" "$evil.tar"
    run -1 bm restore "emergency/$evil" "dest-$evil"
    assert_output_contains "failed verification"
    [ ! -e "dest-$evil" ]
  done
  [ "$(cat src/x)" = x ]
  [ -z "$(ls -A "$WORK" | grep '\.tmp')" ]
}

@test "a backup killed at each step leaves no half backup in list" {
  head -c 2000000 /dev/urandom > adapter/big.bin
  for format in dir tar.zst; do
    for fp in copy.after_block backup.after_copy backup.after_verify atomic_write.after_fsync backup.after_rename; do
      before=$(bm list --json | jq '.backups | length')
      MODELKEEP_FAILPOINT=$fp run -137 bm backup adapter --format "$format"
      after=$(bm list --json | jq '.backups | length')
      [ "$after" -eq "$before" ] || [ "$after" -eq $((before + 1)) ]
      # A verification that checks nothing (the first backup killed) must not pass.
      if [ "$after" -eq 0 ]; then run -3 bm verify --all; else run -0 bm verify --all; fi
      run -0 bm backup adapter --format "$format" -q
      [ -z "$(find models -name '*.tmp*')" ]
    done
  done
}

@test "a full disk: a clear error and no partial backup" {
  mkdir small
  mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  head -c 3000000 /dev/urandom > adapter/big.bin
  run -1 bm --root small/models backup adapter
  assert_output_contains "No space left on device"
  [ -z "$(find small/models/backups -mindepth 2 2>/dev/null)" ]
  umount small
}

@test "a disk that fills up midway (out of inodes): a clear error and no partial backup" {
  mkdir small
  mount -t tmpfs -o size=64m,nr_inodes=40 tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  for i in $(seq 60); do echo "$i" > "adapter/f$i.txt"; done
  run -1 bm --root small/models backup adapter
  assert_output_contains "No space left on device"
  [ -z "$(find small/models/backups -mindepth 2 2>/dev/null)" ]
  run -0 bm --root small/models list
  assert_output_contains "BACKUPS (0 total)"
  umount small
}

@test "a read-only store: a clear error, nothing changed" {
  bm backup adapter -q >/dev/null
  before=$(tree_sum models)
  mkdir ro && mount --bind models ro 2>/dev/null && mount -o remount,bind,ro ro 2>/dev/null \
    || skip "cannot make a read-only bind mount here"
  run -1 bm --root ro backup adapter
  assert_output_contains "Read-only file system"
  umount ro
  [ "$(tree_sum models)" = "$before" ]
}
