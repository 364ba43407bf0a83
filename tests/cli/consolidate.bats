#!/usr/bin/env bats
# consolidate-model: the full consolidation, kills at every step, bad inputs, merge and inspect.

load helpers

setup() {
  setup_workdir
  CM="$MODELKEEP_BUILD_DIR/consolidate/consolidate-model"
  rm -rf adapter
  mkdir train && cp -r "$MODELKEEP_SOURCE_DIR/models.example/." train/
  unset MODELKEEP_ROOT
}

cm() { "$CM" "$@"; }

# The merged model modelkeep.json names now (kept relative to train/ when the base was).
merged_model() {
  local base
  base=$(jq -r .base_model train/modelkeep.json)
  case "$base" in /*) echo "$base" ;; *) echo "train/$base" ;; esac
}

@test "a consolidation backs up, versions, merges, updates modelkeep.json and only then deletes the adapter" {
  adapter_sum=$(tree_sum train/current_model)
  run -0 cm --base-dir train --description "Math training" --training-data train/training_data/math_examples.jsonl \
    --steps 300 --loss 0.7
  assert_output_contains "[2/6] backup verified"
  assert_output_contains "[3/6] version v001_"
  assert_output_contains "[6/6] deleted"
  [ ! -e train/current_model ]
  out=$(merged_model)
  [[ "$(jq -r .base_model train/modelkeep.json)" == models/consolidated_models/* ]] # relative, as base_model was
  [ -f "$out/model.safetensors" ] && [ -f "$out/consolidation.json" ] && [ -f "$out/consolidation.log" ]
  cmp "$out/tokenizer.json" train/base_model/tokenizer.json
  [ "$(jq -r '.history[0].base_model' train/modelkeep.json)" = base_model ]
  [ "$(jq -r '.modules | length' "$out/consolidation.json")" = 4 ]
  # The output was proven against base + adapter, tensor by tensor, and the figure recorded.
  [ "$(jq -r '[.check.tensors, .check.identical, .check.max_ulp] | @tsv' "$out/consolidation.json")" = "$(printf '12\t12\t0')" ]
  [ "$(jq -r '[.merge_options.combination, .merge_options.scale, .merge_options.dtype] | @tsv' "$out/consolidation.json")" = "$(printf 'linear\t1\tkeep')" ]
  assert_output_contains "checked: 12 of 12 tensors bit for bit base + adapter"
  backup=$(jq -r .backup "$out/consolidation.json")
  [ "$(tree_sum "$backup/data")" = "$adapter_sum" ]
  [ "$("$MV" --root train/models list --json | jq -r '.versions[0].file_count')" = 5 ]
  digest=$(jq -r .base_manifest_digest "$out/consolidation.json")
  [ "${#digest}" = 64 ]
  [ "$digest" = "$(jq -r .base_model_digest train/models/versions/v001_*/metadata.json)" ]
  [ ! -e train/.modelkeep-consolidation.json ]
  # The pre-consolidation backup is protected from retention.
  run -0 "$BM" --root train/models cleanup --keep-last 0
  assert_output_contains "the adapter merged in the consolidation of"
}

@test "--dry-run prints the plan and writes nothing" {
  before=$(tree_sum train)
  run -0 cm --base-dir train --dry-run
  assert_output_contains "4 modules, 4 tensors merged"
  assert_output_contains "scale 2"
  assert_output_contains "dry run: nothing was written"
  [ "$(tree_sum train)" = "$before" ]
  [ ! -e train/models ]
}

@test "an adapter identical to an older version reuses that version" {
  "$MV" --root train/models create --adapter train/current_model --snapshots train/evolution_snapshots --description "first" -q
  echo change >> train/current_model/adapter_config.json
  "$MV" --root train/models create --adapter train/current_model --snapshots train/evolution_snapshots --description "second" -q
  sed -i '$ d' train/current_model/adapter_config.json
  run -0 cm --base-dir train --description "consolidate" --keep-adapter
  assert_output_contains "adapter identical to v001_"
  [ "$(ls train/models/versions | grep -c '^v')" = 2 ]
}

@test "--keep-adapter keeps it" {
  run -0 cm --base-dir train --description d --keep-adapter
  [ -d train/current_model ]
}

@test "an adapter the base already contains is not merged again (exit 4) unless --allow-remerge" {
  run -0 cm --base-dir train --description first --keep-adapter
  first=$(merged_model)
  [ "$(jq -r .adapter_digest "$first/consolidation.json")" = \
    "$(jq -r .manifest_digest train/models/versions/v001_*/metadata.json)" ]
  config_before=$(cat train/modelkeep.json)
  run -4 cm --base-dir train --description again --keep-adapter
  assert_output_contains "the base model already contains it: $WORK/$first (merged from v001_"
  assert_output_contains "--allow-remerge"
  [ "$(cat train/modelkeep.json)" = "$config_before" ]
  [ "$(ls train/models/consolidated_models | wc -l)" = 1 ]
  # Two merges later the first is still found through the chain of consolidation records.
  run -0 cm --base-dir train --description again --keep-adapter --allow-remerge
  assert_output_contains "merging it again (--allow-remerge)"
  run -4 cm --base-dir train --description thrice --keep-adapter
}

@test "killed at every step boundary, a rerun finishes the job and nothing is lost" {
  for fp in backup.after_copy consolidate.after_backup create.after_copy consolidate.after_version merge.after_shard \
            consolidate.after_merge consolidate.before_record consolidate.after_rename consolidate.after_config consolidate.after_adapter_rename; do
    rm -rf train && mkdir train && cp -r "$MODELKEEP_SOURCE_DIR/models.example/." train/
    adapter_sum=$(tree_sum train/current_model)
    MODELKEEP_FAILPOINT=$fp run -137 cm --base-dir train --description "killed at $fp"
    # Until the run completes the adapter is still there, or safely in a verified backup.
    if [ ! -d train/current_model ]; then
      [ "$fp" = consolidate.after_adapter_rename ]
    else
      [ "$(tree_sum train/current_model)" = "$adapter_sum" ]
    fi
    run -0 cm --base-dir train --description "killed at $fp"
    [ ! -e train/current_model ]
    [ "$(ls train/models/consolidated_models | grep -vc '\.tmp')" = 1 ]
    [ -z "$(find train -name '*.tmp*')" ]
    backup=$(jq -r .backup "$(merged_model)/consolidation.json")
    [ "$(tree_sum "$backup/data")" = "$adapter_sum" ]
    run -0 "$MV" --root train/models verify
  done
}

@test "bad inputs are refused with exit 6 and nothing is written" {
  cp train/base_model/model.safetensors good.safetensors
  size=$(stat -c %s good.safetensors)
  for damage in truncate header offsets dtype; do
    cp good.safetensors train/base_model/model.safetensors
    case $damage in
      truncate) truncate -s $((size - 10)) train/base_model/model.safetensors ;;
      header) printf '\xff\xff\xff\xff\x00\x00\x00\x00' | dd of=train/base_model/model.safetensors conv=notrunc status=none ;;
      offsets) sed -i '0,/"data_offsets":\[0,/s//"data_offsets":[2,/' train/base_model/model.safetensors ;;
      dtype) sed -i '0,/"BF16"/s//"BX16"/' train/base_model/model.safetensors ;;
    esac
    before=$(tree_sum train)
    run -6 cm --base-dir train --description d
    assert_output_contains "bad safetensors"
    [ "$(tree_sum train)" = "$before" ]
  done
  cp good.safetensors train/base_model/model.safetensors
  sed -i 's/"r": 4/"r": 4, "peft_type_x": 1/; s/"LORA"/"IA3"/' train/current_model/adapter_config.json
  run -6 cm --base-dir train --description d
  assert_output_contains "only LORA adapters"
  [ -d train/current_model ] && [ ! -e train/models/versions ]
  # The input policy of create and backup: no symlink out of the adapter.
  sed -i 's/, "peft_type_x": 1//; s/"IA3"/"LORA"/' train/current_model/adapter_config.json
  ln -s /etc/passwd train/current_model/passwd
  run -6 cm --base-dir train --description d
  assert_output_contains "symlink pointing outside the directory refused"
  [ ! -e train/models/versions ]
}

@test "\"model\" in modelkeep.json selects a named model; --model and MODELKEEP_MODEL win over it" {
  jq '.model = "chat/small"' train/modelkeep.json > m && mv m train/modelkeep.json
  run -0 cm --base-dir train --description "named" --keep-adapter
  [ -d train/models/chat/small/versions/v001_*_named ]
  [ -d train/models/chat/small/backups/pre_consolidation/current_model_* ]
  [ "$(ls train/models/chat/small/consolidated_models | wc -l)" = 1 ]
  [ ! -e train/models/versions ]
  [ "$(jq -r .model train/modelkeep.json)" = chat/small ]
  [ "$("$MV" --root train/models catalog --json | jq -r '.models[0].model')" = chat/small ]
  # A bad name in the file is malformed input (exit 6), refused before anything is written.
  jq '.model = "../out"' train/modelkeep.json > m && mv m train/modelkeep.json
  before=$(tree_sum train)
  run -6 cm --base-dir train --description "bad"
  assert_output_contains "bad model name"
  [ "$(tree_sum train)" = "$before" ]
  # The flag and the environment win over the file (and a bad flag is a usage error).
  run -2 cm --base-dir train --description "bad" --model "Bad"
  MODELKEEP_MODEL=other run -0 cm --base-dir train --description "env" --keep-adapter --dry-run --allow-remerge
  assert_output_contains "dry run"
}

@test "--model is remembered in modelkeep.json, and a training directory with relative paths can move" {
  run -0 cm --base-dir train --description "first" --model team/m --keep-adapter
  [ "$(jq -r .model train/modelkeep.json)" = team/m ]
  [[ "$(jq -r .base_model train/modelkeep.json)" == models/team/m/consolidated_models/* ]]
  mv train moved
  touch moved/current_model/extra.txt
  run -0 cm --base-dir moved --description "second" --keep-adapter --allow-remerge
  [ "$(ls -d moved/models/team/m/versions/v00* | wc -l)" = 2 ]
  [ "$("$MV" --root moved/models --model team/m list --json | jq -r '.versions[1].description')" = second ]
}

@test "a LoRA module missing from the base is listed and nothing is written" {
  sed -i 's/layers.1.self_attn.v_proj.weight/layers.1.self_attn.w_proj.weight/' train/base_model/model.safetensors
  run -6 cm --base-dir train --description d
  assert_output_contains "no base tensor model.layers.1.self_attn.v_proj.weight"
  [ ! -e train/models/backups ]
}

@test "check proves a merged model, and a consolidation's output, and says what differs" {
  run -0 cm merge --base train/base_model --adapter train/current_model --output merged
  run -0 cm check --base train/base_model --adapter train/current_model --merged merged
  assert_output_contains "12 tensors compared, 12 identical"
  assert_output_contains "OK: it is base + adapters"
  run -0 cm check --base train/base_model --adapter train/current_model --merged merged --json
  [ "$(jq -r '[.ok, .max_ulp, .tensors] | @tsv' <<< "$output")" = "$(printf 'true\t0\t12')" ]
  # Merged with another dtype than asked: said so; --dtype names what the merge was asked for.
  run -0 cm merge --base train/base_model --adapter train/current_model --output merged32 --dtype fp32
  run -1 cm check --base train/base_model --adapter train/current_model --merged merged32
  assert_output_contains "dtype: model.layers.0.self_attn.q_proj.weight: F32, expected"
  run -0 cm check --base train/base_model --adapter train/current_model --merged merged32 --dtype fp32
  # Another scale than the merge's: caught, the worst element named.
  run -1 cm check --base train/base_model --adapter train/current_model --merged merged --scale 1.5
  assert_output_contains "values: model.layers.0.self_attn.q_proj.weight: max "
  assert_output_contains "FAILED: 4 differences"
  # Combinations: check re-derives a TIES merge with the same parameters, and only with them.
  run -0 cm merge --base train/base_model --adapter train/current_model --adapter train/current_model \
    --weight 0.6 --weight 0.3 --combination ties --density 0.5 --output tied --json
  [ "$(jq -r '[.combination, .density] | @tsv' <<< "$output")" = "$(printf 'ties\t0.5')" ]
  run -0 cm check --base train/base_model --adapter train/current_model --adapter train/current_model \
    --weight 0.6 --weight 0.3 --combination ties --density 0.5 --merged tied
  run -1 cm check --base train/base_model --adapter train/current_model --adapter train/current_model \
    --weight 0.6 --weight 0.3 --combination ties --density 0.4 --merged tied
  run -2 cm merge --base train/base_model --adapter train/current_model --combination ties --density 0 --output x
  run -2 cm merge --base train/base_model --adapter train/current_model --combination mean --output x
  # The consolidation's own output checks out against the base it replaced.
  run -0 cm --base-dir train --description "merged" --keep-adapter
  run -0 cm check --base train/base_model --adapter train/current_model --merged "$(merged_model)"
}

@test "merge writes a merged model under a temp name; inspect summarises" {
  run -0 cm merge --base train/base_model --adapter train/current_model --output merged --dtype fp32
  assert_output_contains "merged 4 modules into 4 tensors"
  run -0 cm inspect merged
  assert_output_contains "model.layers.0.self_attn.q_proj.weight"
  assert_output_contains "F32"
  run -0 cm inspect merged --json
  [ "$(echo "$output" | jq -r '.files[0].tensors | length')" = 12 ]
  run -4 cm merge --base train/base_model --adapter train/current_model --output merged
  run -0 cm inspect train/current_model
  assert_output_contains "4 modules"
  rm train/current_model/adapter_model.safetensors && echo x > train/current_model/adapter_model.bin
  run -6 cm merge --base train/base_model --adapter train/current_model --output m2
  assert_output_contains "convert it to safetensors"
  [ ! -e m2 ]
}

@test "usage errors" {
  run -2 cm
  run -2 cm --base-dir train
  run -2 cm merge --base x
  run -0 cm --help
  assert_output_contains "--base-dir"
}

@test "not enough disk for backup and output: a clear error before anything is written" {
  mkdir small
  mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  before=$(tree_sum train)
  run -1 cm --base-dir train --description d --root small/models
  assert_output_contains "No space left on device"
  [ "$(tree_sum train)" = "$before" ]
  [ -z "$(ls -A small)" ]
  umount small
}
