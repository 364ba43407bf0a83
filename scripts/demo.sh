#!/usr/bin/env bash
# The main job on a scratch copy of models.example/: snapshot two training results as
# versions, list, show, verify, catch a corrupted file, restore an earlier version (the
# current adapter is backed up first), make verified backups, dry-run a retention policy,
# and consolidate the adapter into the tiny base model. models.example/ itself is never
# modified.
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
mv_bin="$build/versioner/model-versioner"
bm_bin="$build/backup/backup-manager"
cm_bin="$build/consolidate/consolidate-model"
for bin in "$mv_bin" "$bm_bin" "$cm_bin"; do
  [ -x "$bin" ] || { echo "demo.sh: error: $bin not built (run make build)" >&2; exit 1; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/modelkeep-demo.XXXXXX")
cp -r "$top/models.example/." "$scratch/"
cd "$scratch"
export MODELKEEP_ROOT="$scratch/models"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
mv() { step model-versioner "$@"; "$mv_bin" "$@"; }
bm() { step backup-manager "$@"; "$bm_bin" "$@"; }
cm() { step consolidate-model "$@"; "$cm_bin" "$@"; }

echo "modelkeep demo in $scratch (a copy of models.example/)"

mv create --adapter current_model --description "Initial training" \
  --data training_data/math_examples.jsonl --steps 300 --loss 0.72 \
  --metric f1_score=0.81 --snapshots evolution_snapshots

echo; echo "# ... more training changes the adapter ..."
printf '{"step": 400, "loss": 0.51}\n' > evolution_snapshots/step_0400.json
head -c 4096 /dev/urandom >> current_model/adapter_model.safetensors
mv create --adapter current_model --description "Math focus, 400 steps" \
  --data training_data/math_examples.jsonl --steps 400 --loss 0.51 \
  --metric f1_score=0.86 --snapshots evolution_snapshots
mv create --adapter current_model --description "same again" --snapshots evolution_snapshots \
  || echo "(refused with exit $?: identical to the newest version)"

mv list
mv show v2
mv verify

echo; echo "# v001 is backed up; then a byte of it flips on disk ..."
v1_dir=$(ls -d models/versions/v001_*)
bm backup "$v1_dir" --reason "before the demo damages it"
printf 'X' | dd of="$v1_dir/adapter/adapter_model.safetensors" bs=1 seek=100 conv=notrunc status=none
mv verify || echo "(verify failed with exit $?, as it must)"
echo; echo "# ... and is repaired from the intact copy in the backup"
mv repair v1
mv verify v1

mv restore v1
echo; echo "# current_model/ now holds v001 again; what it held is in a verified backup:"
ls -1 models/backups/pre_restore/
mv delete v2 || echo "(refused with exit $?: needs --confirm)"
mv list

echo; echo "# stages, an A/B test on (simulated) traffic, and monitoring that rolls back on its own"
mv promote v1 --reason "first release"
mv ab create rank-test --control v1 --treatment v2 --strategy sticky --split 0.5 --target-samples 200
mv ab start rank-test
mv ab route rank-test --user alice
echo "# ... 400 requests with feedback: v2 answers right 90% of the time, v1 80% ..."
for i in $(seq 200); do
  "$mv_bin" ab record rank-test --variant control --correct $((i % 5 != 0)) --latency-ms 40
  "$mv_bin" ab record rank-test --variant treatment --correct $((i % 10 != 0)) --latency-ms 42
done
mv ab status rank-test
mv ab conclude rank-test --promote-winner
mv monitor thresholds --window 20 --max-error-rate 0.1
echo "# ... production starts failing: three errors in a row ..."
for i in $(seq 20); do "$mv_bin" monitor record --latency-ms 40 --confidence 0.9 --correct 1; done
for i in 1 2; do "$mv_bin" monitor record --error --error-kind runtime; done
mv monitor record --error --error-kind runtime
mv monitor history

echo; echo "# verified backups: copied, read back from disk and checked before they count"
bm backup current_model --type emergency --reason "before an experiment" --format tar.zst
bm backup current_model --type emergency --reason "before another experiment"
bm backup current_model --type pre_consolidation --reason "before merging"
bm list
bm verify --all
bm cleanup --keep-last 1

echo; echo "# consolidation: merge the adapter into the base model, but only after a verified"
echo "# backup and a version exist; the adapter is deleted last, once everything is verified"
cm inspect current_model
cm --base-dir . --dry-run
cm --base-dir . --description "Math training, consolidated" --training-data training_data/math_examples.jsonl \
  --steps 400 --loss 0.51
echo; echo "# modelkeep.json now points at the merged model:"
cat modelkeep.json
mv list
bm list --type pre_consolidation

echo; echo "demo finished; the scratch store is in $scratch/models"
