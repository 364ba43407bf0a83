#!/usr/bin/env bats
# One trust model: "verified", "protected" and "in use" mean the same in every command. One
# test per observation of the issue that asked for it, each failing on the release before.

load helpers

NIGHTLY() { MODELKEEP_BACKUP_MANAGER="$BM" "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh" "$@"; }

new_version() {
  touch_adapter
  mv_ create --adapter adapter --description "v $1" --metric "f1_score=$1" -q >/dev/null
}

@test "1. a quick check never launders a failed one; cleanup keeps the good older backup" {
  good=$(bm backup adapter -q)
  damaged=$(bm backup adapter -q)
  flip_byte "$damaged/data/adapter_model.safetensors" 100
  run -1 bm verify --all
  assert_output_contains "checksum differs: adapter_model.safetensors"
  # The sizes still match, but the failure stands until a full check passes.
  run -1 bm verify --all --quick
  assert_output_contains "$(basename "$damaged"): FAILED (sizes match, but a check failed at"
  [ "$(jq -r .verification.state "$damaged/backup.json")" = failed ]
  [ "$(jq -r .verification.state "$good/backup.json")" = verified ]
  run -0 bm cleanup --keep-last 1
  assert_output_contains "KEEP   emergency/$(basename "$good")"
  assert_output_contains "protected: the newest verified backup of $WORK/adapter"
  run -0 bm cleanup --keep-last 1 --execute
  [ -d "$good" ]
  # A full check of a repaired copy clears the failure.
  flip_byte "$damaged/data/adapter_model.safetensors" 100
  flip_byte "$damaged/data/adapter_model.safetensors" 100
  cp "$good/data/adapter_model.safetensors" "$damaged/data/adapter_model.safetensors"
  run -0 bm verify --all
  [ "$(jq -r .verification.state "$damaged/backup.json")" = verified ]
}

@test "2. versions that A/B tests, baselines and merged models use cannot be deleted or collected" {
  new_version 0.80; new_version 0.85; new_version 0.90; new_version 0.95
  mv_ ab create rr --control 2 --treatment 3 --strategy round_robin -q
  run -4 mv_ delete 3 --confirm
  assert_output_contains "refusing to delete $(basename "$(version_dir 3)"): it is the treatment of draft A/B test rr"
  mv_ ab start rr -q
  run -4 mv_ delete 2 --confirm
  assert_output_contains "it is the control of running A/B test rr"
  run -0 mv_ gc --keep 1 --execute
  assert_output_contains "protected: the treatment of running A/B test rr"
  [ -d "$(version_dir 2)" ] && [ -d "$(version_dir 3)" ]
  run -0 mv_ ab route rr
  [ -d "$(echo "$output" | cut -f3)" ]
  run -0 mv_ ab conclude rr
  run -0 mv_ delete 3 --confirm
}

@test "2. the baseline a monitored stage compares with cannot be deleted" {
  new_version 0.80; new_version 0.85; new_version 0.90
  mv_ promote 1 -q
  mv_ monitor record --correct 1
  mv_ promote 2 -q
  mv_ monitor record --correct 1
  run -4 mv_ delete 1 --confirm
  assert_output_contains "the baseline monitored production ($(basename "$(version_dir 2)")) is compared with"
}

@test "6. a wrong root or model fails with exit 3 and its path, in every tool and the nightly job" {
  run -3 mv_ --root /no/such list
  assert_output_contains "/no/such"
  run -3 mv_ --root /no/such verify
  run -3 mv_ --root /no/such catalog
  run -3 bm --root /no/such verify --all
  run -3 bm --root /no/such list
  run -3 bm --root /no/such cleanup --keep-last 1 --execute
  [ ! -e /no/such ]
  mv_ create --adapter adapter --description one -q
  run -3 bm --model nosuch verify --all
  assert_output_contains "no model 'nosuch'"
  run -3 mv_ --model nosuch list
  [ ! -e models/nosuch ]
  # A verification that checks nothing fails loudly instead of passing.
  run -3 bm verify --all
  assert_output_contains "nothing was verified: no backups in $WORK/models/backups"
  MODELKEEP_MODELS=nosuch run -1 NIGHTLY
  assert_output_contains "no model 'nosuch'"
  MODELKEEP_ROOT=/no/such run -3 NIGHTLY
  [ ! -e /no/such ]
}

# A local restic repository for the offsite observations (skipped without restic).
offsite_setup() {
  command -v restic >/dev/null || skip "restic is not installed (scripts/install-deps.sh installs it)"
  unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_PASSWORD RESTIC_PASSWORD_COMMAND
  export RESTIC_CACHE_DIR="$WORK/restic-cache"
  echo "correct horse battery staple" > pw
  RESTIC_REPOSITORY="$WORK/repo" RESTIC_PASSWORD_FILE="$WORK/pw" restic init -q
  mkdir -p models/.modelkeep
  jq -n --arg repo "$WORK/repo" --arg pw "$WORK/pw" '{offsite: {repository: $repo, password_file: $pw}}' \
    > models/.modelkeep/config.json
}

@test "3. a remote copy that failed its check no longer counts for --require-offsite" {
  offsite_setup
  old=$(bm backup adapter -q)
  touch_adapter
  bm backup adapter -q >/dev/null
  bm push "$old" -q
  run -0 bm offsite verify --backup "emergency/$(basename "$old")"
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "DELETE emergency/$(basename "$old")"
  for pack in $(find repo/data -type f); do flip_byte "$pack" 100; done
  run -1 bm offsite verify --no-restore
  [ "$(jq -r '.repositories[].check.state' models/.modelkeep/offsite.json)" = failed ]
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "KEEP   emergency/$(basename "$old")"
  assert_output_contains "the repository failed restic check at"
  # A partial check that passes (or a quick one) does not clear the failure.
  run -0 bm offsite list
  assert_output_contains "the repository failed restic check"
}

@test "4. offsite forget is not undone by the next push; same-second backups are ordered by name" {
  offsite_setup
  first=$(bm backup adapter -q)
  second=$(bm backup adapter -q)   # the same second: only the name tells which is newer
  [ "$(jq -r .created_at "$first/backup.json")" = "$(jq -r .created_at "$second/backup.json")" ] || skip "not the same second"
  bm push --all -q
  run -0 bm offsite forget --keep-last 1 --execute --json
  [ "$(jq -r '.snapshots[] | select(.action == "forget") | .id' <<< "$output")" = "emergency/$(basename "$first")" ]
  [ "$(jq -r '.offsite[0].forgotten_at' "$first/backup.json")" != null ]
  run -0 bm push --all
  assert_output_contains "was forgotten on purpose"
  [ "$(RESTIC_REPOSITORY=repo RESTIC_PASSWORD_FILE=pw restic snapshots --json | jq length)" = 1 ]
  run -4 bm push "$first"
  run -0 bm push "$first" --force -q
  [ "$(RESTIC_REPOSITORY=repo RESTIC_PASSWORD_FILE=pw restic snapshots --json | jq length)" = 2 ]
}

@test "9. relative offsite paths resolve against the config file, whatever the working directory" {
  offsite_setup
  jq -n '{offsite: {repository: "../../repo", password_file: "../../pw"}}' > models/.modelkeep/config.json
  path=$(bm backup adapter -q)
  mkdir -p elsewhere/deep && cd elsewhere/deep
  run -0 bm --root "$WORK/models" push --all
  cd "$WORK"
  [ "$(jq -r '.offsite[0].repository' "$path/backup.json")" = "$WORK/repo" ]
  # A used repository that vanished (an unmounted disk) never gets the init hint.
  mv repo repo.away
  run -1 bm offsite list
  assert_output_contains "is not there, but backups here record copies in it"
  [[ "$output" != *"restic init'"* ]]
  mv repo.away repo
  # offsite restore logs the snapshot and the real destination, not a temporary path.
  run -0 bm offsite restore "$(basename "$path")" restored
  run -0 jq -r 'select(.event == "backup_restore") | "\(.snapshot) \(.target) \(.backup)"' models/versions/events.jsonl
  [[ "$output" == *" $WORK/restored null" ]]
  [ "$(echo "$output" | cut -d' ' -f1 | wc -c)" -gt 60 ]
}

@test "9. a push killed before it recorded its snapshot: offsite list and cleanup agree it is no copy" {
  offsite_setup
  old=$(bm backup adapter -q)
  touch_adapter
  bm backup adapter -q >/dev/null
  # The snapshot is made, but the push is killed before recording it (as during restic ls).
  MODELKEEP_RESTIC_TIMEOUT=3600 MODELKEEP_FAILPOINT=offsite.before_record run -137 bm push "$old"
  run -0 bm offsite list --json
  [ "$(jq -r --arg id "emergency/$(basename "$old")" '.backups[] | select(.id == $id and .local) | .counted' <<< "$output")" = false ]
  [ "$(jq -r '[.backups[] | select(.local == false)][0].snapshots[0].state' <<< "$output")" = unrecorded ]
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "KEEP   emergency/$(basename "$old")"
}

@test "7. create and backup judge inputs by one policy; archives keep non-ASCII names in any locale" {
  ln -s /etc/passwd adapter/passwd
  run -6 mv_ create --adapter adapter --description x
  assert_output_contains "symlink pointing outside the directory refused"
  run -6 bm backup adapter
  assert_output_contains "symlink pointing outside the directory refused"
  [ -z "$(find models/backups -name passwd 2>/dev/null)" ]
  rm adapter/passwd
  mkdir empty
  run -6 mv_ create --adapter empty --description x
  assert_output_contains "holds no files"
  run -6 bm backup empty
  assert_output_contains "holds no files"
  mkdir config_only && cp adapter/adapter_config.json config_only/
  run -6 mv_ create --adapter config_only --description x
  assert_output_contains "adapter without weights"
  run -6 bm backup config_only
  assert_output_contains "adapter without weights"
  printf 'x\n' > "adapter/ü ñ file.txt"
  for format in dir tar tar.zst; do
    LANG=C LC_ALL=C run -0 bm backup adapter --format "$format" -q
  done
  LANG=C.UTF-8 run -0 bm backup adapter --format tar -q
  run -0 mv_ create --adapter adapter --description "non-ASCII" -q
  run -0 bm verify --all
  tarball=$(ls -d models/backups/emergency/*/data.tar.zst | head -1)
  run -0 bm restore "emergency/$(basename "$(dirname "$tarball")")" restored
  [ "$(cat "restored/ü ñ file.txt")" = x ]
  # A name that is not UTF-8 cannot go into a manifest: a clear error, nothing written.
  before=$(ls models/backups/emergency | wc -l)
  touch "adapter/$(printf 'bad\377name')"
  run -6 mv_ create --adapter adapter --description x
  assert_output_contains "is not valid UTF-8"
  run -6 bm backup adapter
  assert_output_contains "is not valid UTF-8"
  [ "$(ls models/backups/emergency | wc -l)" = "$before" ]
}

@test "8. a status that names a stage follows the stage link: status never contradicts promote" {
  new_version 0.80; new_version 0.85; new_version 0.90
  mv_ promote 1 -q
  run -4 mv_ status 3 production
  assert_output_contains "follows the stage link (production points to $(basename "$(version_dir 1)"))"
  assert_output_contains "model-versioner promote $(basename "$(version_dir 3)") --stage production"
  run -4 mv_ status 1 archived
  assert_output_contains "stage production points to it"
  [ "$(jq -r '[.versions[].summary.status] | map(select(. == "production")) | length' models/versions/index.json)" = 1 ]
  run -0 mv_ status 1 failed --reason "bad answers"
  run -0 mv_ status 2 archived
}

@test "10. damage in a shared file is named in every version that shares it, and repair restores it" {
  new_version 0.80; new_version 0.85
  v1=$(version_dir 1); v2=$(version_dir 2)
  # Versions are read-only, directories too (root ignores it, hence the rest of the test).
  [ "$(stat -c %a "$v2")" = 555 ]
  [ "$(stat -c %a "$v2/metadata.json")" = 444 ]
  [ "$(stat -c %a "$v2/adapter")" = 555 ]
  # adapter_config.json did not change between the versions: one stored copy for both.
  flip_byte "$v2/adapter/adapter_config.json" 3
  run -1 mv_ verify
  assert_output_contains "$(basename "$v1"): FAILED"
  assert_output_contains "modified: adapter/adapter_config.json (the same stored copy as in $(basename "$v2")"
  run -1 --separate-stderr mv_ verify --json
  [ "$(echo "$output" | jq -r ".versions[0].shared_with[\"adapter/adapter_config.json\"][0]")" = "$(basename "$v2")" ]
  # No intact copy anywhere: said so, nothing changed.
  sum1=$(tree_sum "$v1"); sum2=$(tree_sum "$v2")
  run -1 mv_ repair
  assert_output_contains "NOT REPAIRED (no intact copy"
  assert_output_contains "without an intact copy anywhere"
  [ "$(tree_sum "$v1")" = "$sum1" ] && [ "$(tree_sum "$v2")" = "$sum2" ]
  # A new version does not link to the damaged copy: it stores the content afresh.
  new_version 0.90
  run -0 mv_ verify 3
  # ... which repair then finds, for both damaged versions.
  run -0 mv_ repair
  assert_output_contains "$(basename "$v1")/adapter/adapter_config.json: repaired from "
  assert_output_contains "$(basename "$v2"): OK after repair"
  run -0 mv_ verify
  [ "$(stat -c %a "$v2/adapter")" = 555 ]
  [ "$(jq -r .event models/versions/events.jsonl | tail -1)" = repair ]
  # A version's own file restored from a local backup of the same content; a backup from a version.
  backup=$(bm backup adapter -q)
  v3=$(version_dir 3)
  flip_byte "$v3/adapter/adapter_model.safetensors" 50
  run -0 mv_ repair 3
  assert_output_contains "repaired from backup emergency/$(basename "$backup")"
  flip_byte "$backup/data/adapter_model.safetensors" 50
  run -1 bm verify --all
  run -0 bm repair "$backup"
  assert_output_contains "adapter_model.safetensors: repaired from "
  [ "$(jq -r .verification.state "$backup/backup.json")" = verified ]
  run -0 bm verify --all
}

@test "a damaged version is not deleted or collected: its backup would keep only the damage" {
  new_version 0.80; new_version 0.85; new_version 0.90
  v1=$(version_dir 1)
  flip_byte "$v1/adapter/adapter_model.safetensors" 10
  backups=$(ls models/backups/deleted_versions 2>/dev/null | wc -l)
  run -4 mv_ delete 1 --confirm
  assert_output_contains "refusing to delete $(basename "$v1"): it fails verification (adapter/adapter_model.safetensors)"
  assert_output_contains "model-versioner repair"
  [ -d "$v1" ]
  [ "$(ls models/backups/deleted_versions 2>/dev/null | wc -l)" = "$backups" ]
  run -0 mv_ gc --keep 1 --execute
  assert_output_contains "fails verification: repair it first"
  [ -d "$v1" ] && [ ! -d "$(version_dir 2 2>/dev/null || echo none)" ]
  # The damage was in v001's own file: no intact copy, so it stays, and says so.
  run -1 mv_ repair 1
}
