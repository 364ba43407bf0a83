#!/usr/bin/env bats
# Named models: --model and MODELKEEP_MODEL, names, per-model locks, the catalog and the
# root's catalog.json, --all-models, and the default layout unchanged.

load helpers

# version NAME of model MODEL with metric f1_score=F1: snapshot MODEL F1 [create flags...]
snapshot() {
  local model=$1 f1=$2
  shift 2
  touch_adapter
  mv_ --model "$model" create --adapter adapter --description "$model f1 $f1" --metric "f1_score=$f1" \
    --metric samples=1200 -q "$@"
}

@test "bad model names exit 2 and create nothing" {
  long=$(printf 'a%.0s' $(seq 300))
  for name in ../x A a//b "$long" /abs a/ .hidden a/../b versions x/backups "sp ace" "é"; do
    run -2 mv_ --model "$name" create --adapter adapter --description x
    assert_output_contains "bad model name"
    run -2 bm --model "$name" backup adapter
    run -2 env MODELKEEP_MODEL="$name" "$MV" list
    [ ! -e models ]
  done
}

@test "a model name that leads out of the root through a symbolic link is refused" {
  mkdir -p models elsewhere
  ln -s "$WORK/elsewhere" models/evil
  run -2 mv_ --model evil create --adapter adapter --description x
  assert_output_contains "symbolic link"
  run -2 mv_ --model evil/sub list
  [ -z "$(ls elsewhere)" ]
}

@test "named models live in models/NAME/ side by side, nested names included" {
  snapshot creamy_chicken 0.91
  snapshot pattern_classifier/trending/btcusdt 0.77
  [ -d models/creamy_chicken/versions/v001_"$(date -u +%Y%m%d)"* ]
  [ -d models/pattern_classifier/trending/btcusdt/versions ]
  [ -d models/creamy_chicken/backups ] && [ -d models/creamy_chicken/consolidated_models ]
  [ -f models/creamy_chicken/.modelkeep/lock ]
  [ ! -e models/versions ]
  # Each model numbers its versions on its own.
  run -0 env MODELKEEP_MODEL=pattern_classifier/trending/btcusdt "$MV" list
  assert_output_contains "pattern_classifier/trending/btcusdt f1 0.77"
  [[ "$output" != *creamy* ]]
  # Without --model, a root that only holds named models says so.
  run -3 mv_ list
  assert_output_contains "pass --model NAME"
  assert_output_contains "creamy_chicken"
  run -3 mv_ --model nothing_here list
  assert_output_contains "no model 'nothing_here'"
}

@test "the catalog lists every model with its stages, headline metric, count and size" {
  snapshot default_like 0.5 >/dev/null
  mv_ create --adapter adapter --description "the default model" --metric f1_score=0.6 -q
  snapshot alpha 0.8
  snapshot alpha 0.85
  mv_ --model alpha promote 1 -q
  mv_ --model alpha promote 2 --stage staging -q
  snapshot beta 0.7
  run -0 mv_ catalog --json
  [ "$(jq -r '[.models[].model] | join(",")' <<< "$output")" = "default,alpha,beta,default_like" ]
  alpha=$(jq '.models[] | select(.model == "alpha")' <<< "$output")
  [ "$(jq -r .version_count <<< "$alpha")" = 2 ]
  [ "$(jq -r '.stages.production' <<< "$alpha")" = "$(basename models/alpha/versions/v001_*)" ]
  [ "$(jq -r '.stages.staging' <<< "$alpha")" = "$(basename models/alpha/versions/v002_*)" ]
  [ "$(jq -r '.active.stage' <<< "$alpha")" = production ]
  [ "$(jq -r '.metric.name + "=" + (.metric.value|tostring)' <<< "$alpha")" = "f1_score=0.8" ]
  [ "$(jq -r .samples <<< "$alpha")" = 1200 ]
  [ "$(jq -r .total_size <<< "$alpha")" -gt 40000 ]
  beta=$(jq '.models[] | select(.model == "beta")' <<< "$output")
  [ "$(jq -r '.active.stage' <<< "$beta")" = latest ]
  [ "$(jq -r '.active.path' <<< "$beta")" = "beta/versions/$(basename models/beta/versions/v001_*)/adapter" ]
  [ "$(jq -r '.path' <<< "$(jq '.models[0]' <<< "$output")")" = . ]
  run -0 mv_ catalog
  assert_output_contains "MODEL"
  assert_output_contains "f1_score=0.8"
  assert_output_contains "production=v001 staging=v002"
  # The root's catalog.json says the same, keyed by model.
  [ "$(jq -r '.models.alpha.active.version' models/catalog.json)" = "$(basename models/alpha/versions/v001_*)" ]
  [ "$(jq -r '.models.beta.metric.value' models/catalog.json)" = 0.7 ]
  [ "$(jq -r '.models | keys | length' models/catalog.json)" = 4 ]
}

@test "every write keeps catalog.json fresh: promote, rollback, status, delete" {
  snapshot alpha 0.8
  snapshot alpha 0.9
  mv_ --model alpha promote 1 -q
  mv_ --model alpha promote 2 -q
  [ "$(jq -r '.models.alpha.metric.value' models/catalog.json)" = 0.9 ]
  mv_ --model alpha rollback -q
  [ "$(jq -r '.models.alpha.metric.value' models/catalog.json)" = 0.8 ]
  mv_ --model alpha delete 2 --confirm -q
  [ "$(jq -r '.models.alpha.version_count' models/catalog.json)" = 1 ]
  # A model removed by hand drops out at the next write of another model.
  snapshot beta 0.1
  rm -rf models/alpha
  snapshot beta 0.2
  [ "$(jq -r '.models | keys | join(",")' models/catalog.json)" = beta ]
}

@test "a corrupt or lying catalog.json is rebuilt from the metadata, never trusted" {
  snapshot alpha 0.8
  snapshot beta 0.7
  printf '{"schema_version": 1, "models": {' > models/catalog.json
  run -0 mv_ catalog --json
  [ "$(jq -r '.models | length' <<< "$output")" = 2 ]
  # catalog repaired it on the way.
  [ "$(jq -r '.models.alpha.version_count' models/catalog.json)" = 1 ]
  # A well-formed file with wrong figures is corrected too.
  jq '.models.alpha.version_count = 99 | .models.ghost = .models.beta' models/catalog.json > r && mv r models/catalog.json
  run -0 mv_ catalog --json
  [ "$(jq -r '.models[] | select(.model == "alpha") | .version_count' <<< "$output")" = 1 ]
  [ "$(jq -r '.models.alpha.version_count' models/catalog.json)" = 1 ]
  [ "$(jq -r '.models.ghost' models/catalog.json)" = null ]
  # A write that finds it damaged rebuilds all of it, not only its own entry.
  echo garbage > models/catalog.json
  snapshot beta 0.75
  [ "$(jq -r '.models | keys | join(",")' models/catalog.json)" = alpha,beta ]
  # reindex rebuilds it on request.
  rm models/catalog.json
  run -0 mv_ --model alpha reindex
  assert_output_contains "rebuilt $WORK/models/catalog.json"
  [ "$(jq -r '.models.beta.version_count' models/catalog.json)" = 2 ]
  run -0 mv_ reindex --all-models --json
  [ "$(jq -r '.index | length' <<< "$output")" = 2 ]
}

@test "two models are written at once: a lock held on one does not stop the other" {
  snapshot alpha 0.1
  snapshot beta 0.1
  # Hold alpha's lock from outside; beta is free, alpha is not.
  flock models/alpha/.modelkeep/lock sleep 30 &
  holder=$!
  for _ in $(seq 100); do ! flock -n models/alpha/.modelkeep/lock true && break; sleep 0.05; done
  touch_adapter
  run -0 mv_ --model beta --lock-timeout 0 create --adapter adapter --description "while alpha is locked"
  run -5 mv_ --model alpha --lock-timeout 0 create --adapter adapter --description "blocked"
  kill "$holder"; wait "$holder" 2>/dev/null || true
  # Two writers, one per model, each making 6 versions at the same time.
  writer() {
    local model=$1 i
    mkdir -p "src_$model"
    for i in $(seq 6); do
      head -c 3000 /dev/urandom > "src_$model/f.bin"
      mv_ --model "$model" --lock-timeout 60 create --adapter "src_$model" --description "$model $i" -q \
        || echo "$model $i: exit $?" >> failures
    done
  }
  writer alpha & a=$!
  writer beta & b=$!
  wait "$a" "$b"
  [ ! -e failures ]
  run -0 mv_ catalog --json
  [ "$(jq -r '.models[] | select(.model == "alpha") | .version_count' <<< "$output")" = 7 ]
  [ "$(jq -r '.models[] | select(.model == "beta") | .version_count' <<< "$output")" = 8 ]
  [ "$(jq -r '.models.alpha.version_count' models/catalog.json)" = 7 ]
  [ "$(jq -r '.models.beta.version_count' models/catalog.json)" = 8 ]
  run -0 mv_ verify --all-models
}

@test "a default-layout store reads unchanged, and --model default is that store" {
  mv_ create --adapter adapter --description first -q
  touch_adapter
  mv_ create --adapter adapter --description second -q
  mv_ promote 1 -q
  bm backup adapter -q >/dev/null
  # The layout of a store made before named models: no root catalog.json.
  rm models/catalog.json
  before=$(tree_sum models)
  list_before=$(mv_ list)
  run -0 mv_ list
  [ "$output" = "$list_before" ]
  run -0 mv_ --model default list
  [ "$output" = "$list_before" ]
  run -0 env MODELKEEP_MODEL=default "$MV" show 1
  run -0 mv_ verify
  run -0 mv_ history
  run -0 bm list
  [ "$(tree_sum models)" = "$before" ]
  [ -d models/versions ] && [ ! -e models/default ]
}

@test "backup-manager works per model; verify and cleanup take --all-models" {
  snapshot alpha 0.1
  bm --model alpha backup adapter --type nightly -q >/dev/null
  bm --model beta backup adapter --type nightly -q >/dev/null
  bm backup adapter --type nightly -q >/dev/null
  touch_adapter
  bm --model beta backup adapter --type nightly -q >/dev/null
  [ "$(ls models/alpha/backups/nightly | wc -l)" = 1 ]
  [ "$(ls models/beta/backups/nightly | wc -l)" = 2 ]
  run -0 bm --model alpha list --json
  [ "$(jq -r '.backups | length' <<< "$output")" = 1 ]
  run -0 bm verify --all --all-models --json
  [ "$(jq -r '[.backups[].model] | sort | join(",")' <<< "$output")" = "alpha,beta,beta,default" ]
  run -0 bm verify --all --all-models
  assert_output_contains "alpha: nightly/"
  run -2 bm verify --all-models
  run -2 bm --model alpha verify --all --all-models
  assert_output_contains "exclude each other"
  run -0 bm cleanup --keep-last 0 --all-models
  assert_output_contains "model beta:"
  assert_output_contains "dry run"
  [ "$(ls models/beta/backups/nightly | wc -l)" = 2 ]
  run -0 bm cleanup --keep-last 0 --all-models --execute --json
  [ "$(jq -r '[.backups[] | select(.action == "delete") | .model] | join(",")' <<< "$output")" = beta ]
  [ "$(ls models/beta/backups/nightly | wc -l)" = 1 ]
  # Damage beta's backup: --all-models finds it.
  flip_byte "$(ls -d models/beta/backups/nightly/*)"/data/adapter_model.safetensors 100
  run -1 bm verify --all --all-models
  assert_output_contains "1 of 3 backups failed"
}

@test "the nightly job and modelkeep.mk cover every model, or the ones listed" {
  bm --model alpha backup adapter -q >/dev/null
  bm --model beta backup adapter -q >/dev/null
  flip_byte "$(ls -d models/beta/backups/emergency/*)"/data/adapter_model.safetensors 10
  run -1 env MODELKEEP_BACKUP_MANAGER="$BM" MODELKEEP_VERIFY_SLICES=1 "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh"
  grep -q "models (all)" models/.modelkeep/nightly.log
  run -0 env MODELKEEP_BACKUP_MANAGER="$BM" MODELKEEP_VERIFY_SLICES=1 MODELKEEP_MODELS=alpha \
    MODELKEEP_KEEP_LAST=5 "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh"
  cat > Makefile <<MK
MODELKEEP_ROOT = $WORK/models
MODELKEEP_ADAPTER = adapter
MODEL_VERSIONER = $MV
BACKUP_MANAGER = $BM
include $MODELKEEP_SOURCE_DIR/scripts/modelkeep.mk
MK
  run -0 make -s snapshot MODELKEEP_MODEL=alpha MODELKEEP_DESCRIPTION="alpha from make"
  [ -d models/alpha/versions ]
  run -0 make -s catalog
  assert_output_contains alpha
  run -0 make -s verify MODELKEEP_MODELS=alpha
  # Every model: beta's damaged backup fails the target.
  run -2 make -s verify
  assert_output_contains "backups failed verification"
}

