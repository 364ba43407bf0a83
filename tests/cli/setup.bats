#!/usr/bin/env bats
# The set-up scripts: install-deps.sh and the demo.

load helpers

@test "install-deps.sh finds everything installed (make test ran it)" {
  run -0 "$MODELKEEP_SOURCE_DIR/scripts/install-deps.sh" --check
}

@test "install-deps.sh on a system without apt prints the package list and fails" {
  mkdir emptybin
  PATH="$WORK/emptybin" run -1 /bin/bash "$MODELKEEP_SOURCE_DIR/scripts/install-deps.sh"
  assert_output_contains "not a Debian-based system"
  assert_output_contains "libssl-dev"
}

@test "install-deps.sh rejects unknown options" {
  run -2 "$MODELKEEP_SOURCE_DIR/scripts/install-deps.sh" --bogus
}

@test "the demo runs on a scratch copy and leaves models.example untouched" {
  [ -x "$MODELKEEP_BUILD_DIR/consolidate/consolidate-model" ] || skip "built without LibTorch (make test-sanitize)"
  before=$(tree_sum "$MODELKEEP_SOURCE_DIR/models.example")
  TMPDIR="$WORK" run -0 "$MODELKEEP_SOURCE_DIR/scripts/demo.sh" "$MODELKEEP_BUILD_DIR"
  assert_output_contains "restored v001_"
  assert_output_contains "verify failed with exit 1"
  assert_output_contains "refused with exit 4"
  [ "$(tree_sum "$MODELKEEP_SOURCE_DIR/models.example")" = "$before" ]
}
