#!/usr/bin/env bats
# Killed at every step boundary (MODELKEEP_FAILPOINT) and at random moments: the store keeps
# only complete versions, user data is never half-changed, and the next writer cleans up.

load helpers

# Every listed version verifies on its own, and nothing half-built is listed.
assert_listed_versions_verify() {
  run -0 mv_ list --json
  for name in $(echo "$output" | jq -r '.versions[].name'); do
    run -0 mv_ verify "$name"
  done
}

# After the next successful write: everything verifies and no temporaries are left.
assert_store_healthy() {
  run -0 mv_ verify
  [ -z "$(find models -name '*.tmp*')" ]
}

@test "create killed at each step: only complete versions, source untouched, next create cleans up" {
  head -c 3000000 /dev/urandom > adapter/big.bin
  for fp in copy.after_block ingest.after_object create.after_copy atomic_write.after_temp_write atomic_write.after_fsync \
            atomic_write.after_rename create.before_rename rename.before_dir_fsync create.after_rename \
            create.after_latest; do
    touch_adapter
    source_sum=$(tree_sum adapter)
    count=$(ls models/versions 2>/dev/null | grep -c '^v' || true)
    MODELKEEP_FAILPOINT=$fp run -137 mv_ create --adapter adapter --description "killed at $fp"
    [ "$(tree_sum adapter)" = "$source_sum" ]
    assert_listed_versions_verify
    after=$(ls models/versions | grep -c '^v' || true)
    [ "$after" -eq "$count" ] || [ "$after" -eq $((count + 1)) ]
    touch_adapter
    run -0 mv_ create --adapter adapter --description "after $fp"
    assert_store_healthy
  done
  # Whatever the killed runs stored and no version uses goes with the next gc.
  run -0 mv_ gc --keep 100 --execute
  used=$(jq -r '.files[].sha256' models/versions/v*/metadata.json | sort -u | wc -l)
  [ "$(find models/.modelkeep/objects/sha256 -type f | wc -l)" -eq "$used" ]
}

@test "restore killed at each step: the target is old or new, never mixed, and old content is kept" {
  mv_ create --adapter adapter --description one
  new_sum=$(tree_sum adapter)
  for fp in restore.after_copy backup.after_copy backup.after_verify backup.after_rename restore.before_swap \
            restore.after_swap; do
    rm -rf models/backups/pre_restore
    touch_adapter
    old_sum=$(tree_sum adapter)
    MODELKEEP_FAILPOINT=$fp run -137 mv_ restore 1
    now=$(tree_sum adapter)
    [ "$now" = "$old_sum" ] || [ "$now" = "$new_sum" ]
    if [ "$now" = "$new_sum" ]; then
      backup=$(ls -d models/backups/pre_restore/adapter_*)
      [ "$(tree_sum "$backup/data")" = "$old_sum" ]
    fi
    run -0 mv_ restore 1
    [ "$(tree_sum adapter)" = "$new_sum" ]
    [ -z "$(ls -A "$WORK" | grep '\.tmp')" ]
    assert_store_healthy
  done
}

@test "delete killed at each step: the version is still there or safely in a verified backup" {
  for fp in backup.after_copy backup.after_verify delete.after_backup delete.after_rename; do
    touch_adapter
    mv_ create --adapter adapter --description "to delete"
    name=$(basename "$(version_dir "$(ls models/versions | grep -c '^v')")")
    version_sum=$(tree_sum "models/versions/$name")
    MODELKEEP_FAILPOINT=$fp run -137 mv_ delete "$name" --confirm
    if [ ! -d "models/versions/$name" ]; then
      backup=$(ls -d models/backups/deleted_versions/"$name"_*)
      [ "$(tree_sum "$backup/data")" = "$version_sum" ]
    fi
    assert_listed_versions_verify
    touch_adapter
    run -0 mv_ create --adapter adapter --description "after $fp"
    assert_store_healthy
  done
}

@test "SIGKILL at random moments during create never leaves a partial version" {
  for i in 1 2 3; do head -c 40000000 /dev/urandom > "adapter/shard$i.bin"; done
  for i in $(seq 8); do
    touch_adapter
    MODELKEEP_THREADS=1 "$MV" create --adapter adapter --description "random kill $i" -q >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 25))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || true
    assert_listed_versions_verify
  done
  touch_adapter
  run -0 mv_ create --adapter adapter --description final
  assert_store_healthy
}

# Every stage points to a complete version and every line of the event log parses.
assert_stages_and_log_sound() {
  for link in models/versions/*; do
    [ -L "$link" ] || continue
    [ -f "$link/metadata.json" ]
  done
  while IFS= read -r line; do
    echo "$line" | jq -e . >/dev/null
  done < models/versions/events.jsonl
}

@test "a promote killed between the stage's link and its event: the next writer logs the move, once" {
  for n in 1 2; do touch_adapter; mv_ create --adapter adapter --description "v$n" -q >/dev/null; done
  mv_ promote 1 -q
  MODELKEEP_FAILPOINT=stage.before_event run -137 mv_ promote 2 --reason "release"
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 2)")" ]
  [ -f models/.modelkeep/stage-move.json ]
  # Any writer completes the move: the log's last promotion is the link's, marked recovered.
  run -0 mv_ tag 1 checked=yes
  [ ! -e models/.modelkeep/stage-move.json ]
  last=$(grep '"event":"promote"' models/versions/events.jsonl | tail -1)
  [ "$(echo "$last" | jq -r .to)" = "$(basename "$(version_dir 2)")" ]
  [ "$(echo "$last" | jq -r .reason)" = release ]
  [ "$(echo "$last" | jq -r .recovered)" = true ]
  run -0 mv_ tag 1 again=yes
  [ "$(grep -c '"event":"promote"' models/versions/events.jsonl)" = 2 ]
  # Killed right after the link moved (before the statuses): the same.
  MODELKEEP_FAILPOINT=stage.after_link run -137 mv_ promote 1
  run -0 mv_ tag 1 third=yes
  [ "$(grep -c '"event":"promote"' models/versions/events.jsonl)" = 3 ]
  run -0 mv_ history --json
}

@test "promote, rollback, gc, cleanup, monitoring and A/B conclude killed at each step leave a sound store" {
  for n in 1 2 3; do touch_adapter; mv_ create --adapter adapter --description "v$n" -q >/dev/null; done
  mv_ promote 1 -q
  for fp in stage.after_link stage.before_event symlink.before_rename; do
    MODELKEEP_FAILPOINT=$fp run -137 mv_ promote 2
    assert_stages_and_log_sound
    run -0 mv_ promote 2
    MODELKEEP_FAILPOINT=$fp run -137 mv_ rollback --to 1
    assert_stages_and_log_sound
    # Killed after the link moved: production already is v1 (exit 4, nothing to do), else 0.
    run mv_ rollback --to 1
    [ "$status" -eq 0 ] || [ "$status" -eq 4 ]
    [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 1)")" ]
    assert_store_healthy
  done
  # An automatic rollback killed after it acted: the next record finds the stage moved.
  mv_ promote 3 -q
  mv_ monitor record --error -q; mv_ monitor record --error -q
  MODELKEEP_FAILPOINT=monitor.after_action run -137 mv_ monitor record --error
  assert_stages_and_log_sound
  [ "$(basename "$(readlink models/versions/production)")" = "$(basename "$(version_dir 1)")" ]
  run -0 mv_ monitor record --latency-ms 3
  # A/B conclude killed after promoting the winner: the test is still running, the promotion stands.
  mv_ ab create exp --control 1 --treatment 2 -q; mv_ ab start exp -q
  for _ in $(seq 30); do mv_ ab record exp --variant control --correct 0; mv_ ab record exp --variant treatment --correct 1; done
  MODELKEEP_FAILPOINT=ab.after_promotion run -137 mv_ ab conclude exp --promote-winner
  assert_stages_and_log_sound
  run -0 mv_ ab conclude exp --promote-winner
  assert_output_contains "already on"
  # gc and backup cleanup killed between deletions.
  MODELKEEP_FAILPOINT=gc.after_delete run -137 mv_ gc --keep 1 --execute
  assert_listed_versions_verify
  run -0 mv_ gc --keep 1 --execute
  assert_store_healthy
  for n in 1 2 3; do bm backup adapter --type manual -q >/dev/null; sleep 1; done
  MODELKEEP_FAILPOINT=cleanup.after_remove run -137 bm cleanup --keep-last 1 --execute
  run -0 bm verify --all
  run -0 bm cleanup --keep-last 1 --execute
  [ "$(ls models/backups/manual | grep -vc tmp)" -ge 1 ]
  # A backup deletion killed after its rename: gone or whole, never half.
  bm backup adapter --type manual -q >/dev/null
  victim=$(ls models/backups/manual | head -1)
  MODELKEEP_FAILPOINT=backup_delete.after_rename run -137 bm delete "manual/$victim" --confirm --force
  run -0 bm verify --all
  run -0 bm backup adapter --type manual -q # the next writer removes what the killed one left
  [ -z "$(find models/backups -name '*.tmp*' | head -1)" ]
}

@test "repair killed after storing the intact copy: versions are damaged or mended, never half, and repair finishes" {
  mv_ create --adapter adapter --description one -q
  touch_adapter
  mv_ create --adapter adapter --description two -q
  bm backup adapter -q >/dev/null # an intact copy of adapter_config.json
  v1=$(version_dir 1)
  flip_byte "$v1/adapter/adapter_config.json" 3 # shared by both versions
  MODELKEEP_FAILPOINT=repair.after_object run -137 mv_ repair
  run -1 mv_ verify # the object is intact again, the versions still link the damaged copy
  run -0 mv_ repair
  assert_store_healthy
  [ -z "$(find models -name '*.tmp*')" ]
}

@test "every failpoint in the code is exercised by a test" {
  : "${MODELKEEP_SOURCE_DIR:?}"
  points=$(grep -rhoE 'failpoint\("[a-z_.]+"\)' "$MODELKEEP_SOURCE_DIR"/common "$MODELKEEP_SOURCE_DIR"/versioner \
             "$MODELKEEP_SOURCE_DIR"/backup "$MODELKEEP_SOURCE_DIR"/consolidate | sed 's/failpoint("\(.*\)")/\1/' | sort -u)
  [ -n "$points" ]
  missing=""
  for p in $points; do
    grep -rqF "$p" "$MODELKEEP_SOURCE_DIR"/tests/cli/*.bats || missing="$missing $p"
  done
  if [ -n "$missing" ]; then echo "failpoints no test kills at:$missing"; return 1; fi
}
