# Shared set-up for the CLI suites: a fresh temp dir with an adapter, a store root in it,
bats_require_minimum_version 1.5.0
# and the built binaries under $MODELKEEP_BUILD_DIR (set by CTest).

setup_workdir() {
  : "${MODELKEEP_BUILD_DIR:?run through ctest, or set MODELKEEP_BUILD_DIR to the build directory}"
  MV="$MODELKEEP_BUILD_DIR/versioner/model-versioner"
  BM="$MODELKEEP_BUILD_DIR/backup/backup-manager"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-cli.XXXXXX")
  cd "$WORK"
  export MODELKEEP_ROOT="$WORK/models"
  unset MODELKEEP_FAILPOINT
  mkdir -p adapter
  printf '{"peft_type": "LORA", "r": 4, "base_model_name_or_path": "org/tiny"}\n' > adapter/adapter_config.json
  head -c 20000 /dev/urandom > adapter/adapter_model.safetensors
}

teardown_workdir() {
  cd /
  if [ -n "${WORK:-}" ]; then
    # A failed test may leave its small filesystems mounted.
    grep -o " $WORK/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r mnt; do umount "$mnt" 2>/dev/null; done
  fi
  [ -n "${WORK:-}" ] && chmod -R u+rwX "$WORK" 2>/dev/null
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
}

setup() { setup_workdir; }
teardown() { teardown_workdir; }

mv_() { "$MV" "$@"; }
bm() { "$BM" "$@"; }

# A checksum of every file under a directory (paths and contents), to prove it unchanged.
tree_sum() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1)
}

# Changes the byte at OFFSET of FILE to a different value (writing a fixed character could
# leave random data unchanged, one time in 256).
flip_byte() {
  local old
  old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $(((old + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Changes the adapter so that the next create is not a duplicate.
touch_adapter() {
  head -c 1000 /dev/urandom >> adapter/adapter_model.safetensors
}

version_dir() {
  ls -d "$MODELKEEP_ROOT"/versions/v"$(printf '%03d' "$1")"_*
}

# Fails the test with the output if $output does not contain the text.
assert_output_contains() {
  if [[ "$output" != *"$1"* ]]; then
    echo "expected output to contain: $1"
    echo "output was: $output"
    return 1
  fi
}
