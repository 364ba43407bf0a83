#!/usr/bin/env bash
# make torture: kills model-versioner and backup-manager with SIGKILL at random moments while
# they write (create, restore, delete, promote, rollback, gc, backup, cleanup, monitor and A/B
# records), then checks the store's invariants after every kill:
#   - every version `list` shows verifies; `latest` and every stage point to complete versions;
#   - the event log parses line by line;
#   - every backup verifies (sizes always, SHA-256 every 25 kills);
#   - the adapter a killed restore was writing into holds the old or the new content, never a mix;
#   - the next writer cleans up and succeeds.
# usage: tests/torture/torture.sh [KILLS]   (MODELKEEP_BUILD_DIR: the build directory)
set -euo pipefail

kills_wanted=${1:-1000}
build=${MODELKEEP_BUILD_DIR:?set MODELKEEP_BUILD_DIR to the build directory}
mv_bin="$build/versioner/model-versioner"
bm_bin="$build/backup/backup-manager"
work=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-torture.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export MODELKEEP_ROOT="$work/models"
unset MODELKEEP_FAILPOINT
mv_() { "$mv_bin" -q --no-progress "$@"; }
bm_() { "$bm_bin" -q --no-progress "$@"; }

fail() {
  echo "torture: INVARIANT BROKEN after kill $kills ($op): $*" >&2
  echo "torture: the store is kept in $work" >&2
  trap - EXIT
  exit 1
}

tree_sum() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1); }

new_content() {
  mkdir -p adapter
  printf '{"peft_type": "LORA", "r": 4, "base_model_name_or_path": "org/tiny"}\n' > adapter/adapter_config.json
  head -c $((2000000 + RANDOM * 20)) /dev/urandom > adapter/adapter_model.safetensors
}

check() {
  "$mv_bin" -q verify > /dev/null 2>&1 || fail "a listed version does not verify"
  for link in models/versions/*; do
    [ -L "$link" ] || continue
    [ -f "$link/metadata.json" ] || fail "$(basename "$link") points to no complete version"
  done
  if [ -f models/versions/events.jsonl ]; then
    jq -c . models/versions/events.jsonl > /dev/null 2>&1 || fail "the event log has a line that does not parse"
  fi
  if [ -d models/backups ]; then
    if [ $((kills % 25)) -eq 0 ]; then
      "$bm_bin" -q verify --all > /dev/null 2>&1 || fail "a backup does not verify"
    else
      "$bm_bin" -q verify --all --quick > /dev/null 2>&1 || fail "a backup does not verify (sizes)"
    fi
  fi
}

new_content
mv_ create --adapter adapter --description start > /dev/null
mv_ promote latest
mv_ monitor thresholds --window 20 --consecutive-failures 1000 --max-error-rate 1 --auto-rollback off > /dev/null
declare -A by_op=()
kills=0
rounds=0
started=$SECONDS
ops=(create create restore delete promote rollback gc backup backup_zst cleanup monitor ab)
while [ "$kills" -lt "$kills_wanted" ]; do
  rounds=$((rounds + 1))
  op=${ops[$((RANDOM % ${#ops[@]}))]}
  versions=$(ls models/versions | grep -c '^v' || true)
  pick=$((RANDOM % (versions > 0 ? versions : 1) + 1))
  chosen=$(ls -d models/versions/v*_* 2>/dev/null | sed -n "${pick}p")
  pick=${chosen:+$(basename "$chosen")}
  pick=${pick:-latest}
  before_restore=""
  case "$op" in
    create) new_content; cmd=("$mv_bin" -q create --adapter adapter --description "round $rounds" --allow-duplicate) ;;
    restore) before_restore=$(tree_sum adapter); cmd=("$mv_bin" -q restore "$pick") ;;
    delete) cmd=("$mv_bin" -q delete "$pick" --confirm) ;;
    promote) cmd=("$mv_bin" -q promote "$pick") ;;
    rollback) cmd=("$mv_bin" -q rollback) ;;
    gc) cmd=("$mv_bin" -q gc --keep 4 --execute) ;;
    backup) cmd=("$bm_bin" -q backup adapter --type torture) ;;
    backup_zst) cmd=("$bm_bin" -q backup adapter --type torture --format tar.zst) ;;
    cleanup) cmd=("$bm_bin" -q cleanup --keep-last 3 --execute) ;;
    monitor) cmd=("$mv_bin" -q monitor record --latency-ms 5) ;;
    ab)
      if [ ! -d models/versions/ab/t ] && [ "$versions" -ge 2 ]; then
        mv_ ab create t --control 1 --treatment 2 > /dev/null 2>&1 && mv_ ab start t > /dev/null 2>&1 || true
      fi
      cmd=("$mv_bin" -q ab record t --variant control --correct 1) ;;
  esac
  "${cmd[@]}" > /dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $((RANDOM % 40)))"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    by_op[$op]=$((${by_op[$op]:-0} + 1))
  fi
  wait "$pid" 2>/dev/null || true
  if [ "$op" = restore ] && [ -n "$before_restore" ]; then
    now=$(tree_sum adapter)
    restored="models/versions/$pick"
    if [ "$now" != "$before_restore" ] && { [ ! -d "$restored" ] || [ "$now" != "$(tree_sum "$restored/adapter")" ]; }; then
      fail "the restore target holds neither its old nor the restored content"
    fi
  fi
  check
  # The next writer cleans up after the killed one and succeeds.
  mv_ tag latest round="$rounds" > /dev/null 2>&1 || [ "$(ls models/versions | grep -c '^v' || true)" -eq 0 ] ||
    fail "the next write after the kill failed"
  if [ "$(ls models/versions | grep -c '^v' || true)" -eq 0 ]; then
    new_content; mv_ create --adapter adapter --description again > /dev/null
  fi
  if [ $((rounds % 100)) -eq 0 ]; then
    echo "torture: $kills kills in $rounds rounds ($((SECONDS - started)) s)"
  fi
done
[ -z "$(find models -name '*.tmp*' | head -1)" ] || fail "temporaries left after the last write"
summary=""
for op in "${!by_op[@]}"; do summary="$summary $op=${by_op[$op]}"; done
echo "torture: $kills kills survived in $rounds rounds, $((SECONDS - started)) s; every invariant held after each."
echo "torture: kills by command:$summary"
