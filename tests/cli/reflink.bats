#!/usr/bin/env bats
# Reflinks for real: on XFS with reflink=1 (a loop-mounted image), each version's file is its
# own inode sharing the object's blocks, so a write through one version's file changes no other
# version and not the stored object. Skips with a message where mkfs.xfs or mounting is
# unavailable (scripts/install-deps.sh installs xfsprogs; mounting needs root).

load helpers

teardown() {
  umount "$WORK/xfs" 2>/dev/null || true
  teardown_workdir
}

mount_xfs() {
  command -v mkfs.xfs >/dev/null || skip "mkfs.xfs is not installed (scripts/install-deps.sh installs xfsprogs)"
  truncate -s 320M xfs.img
  mkfs.xfs -q -m reflink=1 xfs.img 2>/dev/null || skip "mkfs.xfs cannot make a reflink filesystem here"
  mkdir xfs
  mount -o loop xfs.img xfs 2>/dev/null || skip "cannot mount a loop device here (needs root)"
  export MODELKEEP_ROOT="$WORK/xfs/models"
}

@test "on XFS every version's file is a reflink of its object, and a write through one version leaves the others intact" {
  mount_xfs
  head -c 3000000 /dev/urandom > adapter/adapter_model.safetensors
  run -0 mv_ create --adapter adapter --description one --link reflink --json
  [ "$(echo "$output" | jq -r '.storage.link')" = reflink ]
  echo "notes" > adapter/notes.txt
  run -0 mv_ create --adapter adapter --description two --json
  [ "$(echo "$output" | jq -r '.storage.link')" = reflink ]
  v1=$(version_dir 1)/adapter/adapter_model.safetensors
  v2=$(version_dir 2)/adapter/adapter_model.safetensors
  object=$(find "$MODELKEEP_ROOT/.modelkeep/objects" -type f -size +1M)
  # Three inodes (no hard links), one set of blocks.
  [ "$(stat -c %h "$v1")" = 1 ] && [ "$(stat -c %h "$v2")" = 1 ] && [ "$(stat -c %h "$object")" = 1 ]
  [ "$(stat -c %i "$v1")" != "$(stat -c %i "$v2")" ]
  if command -v filefrag >/dev/null; then
    filefrag -v "$v2" | grep -q shared
  fi
  object_sum=$(sha256sum < "$object")

  # A write through version 1's file (root ignores the read-only bits): copy on write.
  flip_byte "$v1" 1000
  run -1 mv_ verify
  assert_output_contains "$(basename "$(version_dir 1)")"
  run -0 mv_ verify "$(basename "$(version_dir 2)")"
  [ "$(sha256sum < "$object")" = "$object_sum" ]

  # The intact object repairs version 1, again as a reflink.
  run -0 mv_ repair --no-remote
  run -0 mv_ verify
  [ "$(stat -c %h "$v1")" = 1 ]
}

@test "--link reflink on a filesystem without reflinks is refused with what to use instead" {
  run mv_ create --adapter adapter --description one --link reflink
  [ "$status" -ne 0 ] || skip "this filesystem supports reflinks"
  [ "$status" -eq 1 ]
  assert_output_contains "does not support it"
  run -0 mv_ list
  assert_output_contains "No versions found"
}
