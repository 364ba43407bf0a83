#!/usr/bin/env bats
# Off-machine copies through restic: push, offsite list/verify/restore/forget, cleanup
# --require-offsite, and every way restic can fail. Offline: local and sftp repositories.

load helpers

setup() {
  setup_workdir
  command -v restic >/dev/null || skip "restic is not installed (scripts/install-deps.sh installs it)"
  unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_PASSWORD RESTIC_PASSWORD_COMMAND
  export RESTIC_CACHE_DIR="$WORK/restic-cache"
  echo "correct horse battery staple" > pw
  REPO="$WORK/repo"
  RESTIC_REPOSITORY="$REPO" RESTIC_PASSWORD_FILE="$WORK/pw" restic init -q
  mkdir -p models/.modelkeep
  configure "$REPO"
}

teardown() { teardown_workdir; }

# configure REPOSITORY [OPTIONS-JSON]: the offsite section of the root's config.json.
configure() {
  jq -n --arg repo "$1" --arg pw "$WORK/pw" --argjson options "${2:-{\}}" \
    '{offsite: {repository: $repo, password_file: $pw, options: $options}}' > models/.modelkeep/config.json
}

restic_() { RESTIC_REPOSITORY="$REPO" RESTIC_PASSWORD_FILE="$WORK/pw" restic "$@"; }

snapshot_count() { restic_ snapshots --json | jq length; }

@test "push sends a verified backup, records it, and does not send it twice" {
  path=$(bm backup adapter --type nightly -q)
  short=$(bm push --all 2>/dev/null)
  [ "${#short}" = 8 ]
  [ "$(snapshot_count)" = 1 ]
  tags=$(restic_ snapshots --json | jq -r '.[0].tags | join(" ")')
  [[ "$tags" == *modelkeep* && "$tags" == *"model:default"* && "$tags" == *"type:nightly"* ]]
  [[ "$tags" == *"digest:"* ]]
  [ "$(jq -r '.offsite[0].snapshot[0:8]' "$path/backup.json")" = "$short" ]
  # The full id, as restic names it (a local repository: its snapshot file).
  [ "$(jq -r '.offsite[0].snapshot' "$path/backup.json")" = "$(restic_ snapshots --json | jq -r '.[0].id')" ]
  [ "$(jq -r '.offsite[0].repository' "$path/backup.json")" = "$REPO" ]
  run -0 bm push --all
  assert_output_contains "$short"
  [ "$(snapshot_count)" = 1 ]
  run -0 bm push "nightly/$(basename "$path")" --json
  [ "$(jq -r '.pushed[0].already' <<< "$output")" = true ]
}

@test "push confirms a local snapshot from restic's summary, with one repository open; a summary that disagrees falls back to the listing" {
  path=$(bm backup adapter --type nightly -q)
  cat > fake-restic <<SH
#!/bin/sh
echo "ARGS: \$*" >> "$WORK/restic-calls"
exec restic "\$@"
SH
  chmod +x fake-restic
  MODELKEEP_RESTIC="$WORK/fake-restic" run -0 bm push --all
  [ "$(grep -c '^ARGS:' restic-calls)" = 1 ]
  grep -q '^ARGS: backup --json' restic-calls
  [ "$(jq -r '.offsite[0].verification.checks | join(",")' "$path/backup.json")" = file_count,total_size,snapshot_stored ]
  [ "$(jq -r '.offsite[0].snapshot' "$path/backup.json")" = "$(restic_ snapshots --json | jq -r '.[0].id')" ]
  # A restic whose summary counts one file fewer than the backup holds: the listing decides.
  touch_adapter
  path2=$(bm backup adapter --type nightly -q)
  cat > fake-restic <<SH
#!/bin/sh
echo "ARGS: \$*" >> "$WORK/restic-calls"
if [ "\$1" = backup ]; then
  restic "\$@" | sed 's/"total_files_processed":\([0-9]*\)/"total_files_processed":0/'
else
  exec restic "\$@"
fi
SH
  : > restic-calls
  MODELKEEP_RESTIC="$WORK/fake-restic" run -0 bm push "nightly/$(basename "$path2")"
  grep -q '^ARGS: ls --json' restic-calls
  [ "$(jq -r '.offsite[0].verification.checks | join(",")' "$path2/backup.json")" = listing,file_sizes ]
}

@test "a backup that fails verification is refused and nothing is sent" {
  path=$(bm backup adapter --type nightly -q)
  flip_byte "$path/data/adapter_model.safetensors" 500
  run -1 bm push --all
  assert_output_contains "failed verification; not sending it"
  [ "$(snapshot_count)" = 0 ]
  [ "$(jq -r '.offsite' "$path/backup.json")" = null ]
}

@test "offsite list joins remote copies with local backups" {
  kept=$(bm backup adapter --type nightly -q)
  touch_adapter
  gone=$(bm backup adapter --type nightly -q)
  touch_adapter
  never=$(bm backup adapter --type nightly -q)
  bm push "$kept" "$gone" -q
  bm delete "nightly/$(basename "$gone")" --confirm --force -q
  run -0 bm offsite list --json
  [ "$(jq -r --arg n "nightly/$(basename "$kept")" '.backups[] | select(.id == $n) | .local' <<< "$output")" = true ]
  [ "$(jq -r --arg n "nightly/$(basename "$gone")" '.backups[] | select(.id == $n) | .local' <<< "$output")" = false ]
  [ "$(jq -r --arg n "nightly/$(basename "$never")" '.backups[] | select(.id == $n) | .snapshots | length' <<< "$output")" = 0 ]
  run -0 bm offsite list
  assert_output_contains "remote only: no local backup"
  assert_output_contains "no remote copy"
}

@test "offsite restore brings a backup back byte for byte, after the local one is gone" {
  original=$(tree_sum adapter)
  path=$(bm backup adapter --type nightly --format tar.zst -q)
  bm push --all -q
  bm delete "nightly/$(basename "$path")" --confirm --force -q
  run -0 bm offsite restore "$(basename "$path")" restored
  assert_output_contains "remote snapshot"
  [ "$(tree_sum restored)" = "$original" ]
  # Into a directory that holds something else: that is backed up first, then replaced.
  mkdir other && echo mine > other/file
  run -0 bm offsite restore "nightly/$(basename "$path")" other
  assert_output_contains "previous content backed up"
  [ "$(tree_sum other)" = "$original" ]
  [ -z "$(ls -A . | grep -e '\.tmp')" ]
  run -3 bm offsite restore no_such_backup elsewhere
  [ ! -e elsewhere ]
}

@test "offsite verify checks the repository and restores a copy; a corrupted pack fails it" {
  path=$(bm backup adapter --type nightly -q)
  bm push --all -q
  run -0 bm offsite verify --json
  [ "$(jq -r '.restored[0].ok' <<< "$output")" = true ]
  [ "$(jq -r '.offsite[0].verified_at' "$path/backup.json")" != null ]
  run -0 bm offsite verify --subset 1/3 --no-restore
  run -2 bm offsite verify --subset 4/3
  # Damage every data pack: restic check --read-data finds it.
  for pack in $(find repo/data -type f); do flip_byte "$pack" 100; done
  run -1 bm offsite verify
  assert_output_contains "restic check"
  [ -z "$(ls -A models/backups | grep -e '\.tmp')" ]
}

@test "an sftp repository works through sftp-server, with no sshd" {
  [ -x /usr/lib/openssh/sftp-server ] || skip "openssh-sftp-server is not installed"
  opts='{"sftp.command": "/usr/lib/openssh/sftp-server -e"}'
  REPO="sftp:localhost:$WORK/sftp-repo"
  RESTIC_REPOSITORY="$REPO" RESTIC_PASSWORD_FILE="$WORK/pw" restic -o sftp.command="/usr/lib/openssh/sftp-server -e" init -q
  configure "$REPO" "$opts"
  original=$(tree_sum adapter)
  path=$(bm backup adapter --type nightly -q)
  run -0 bm push --all
  # Not a local path: the snapshot's listing confirms it (and names it in full).
  [ "$(jq -r '.offsite[0].verification.checks | join(",")' "$path/backup.json")" = listing,file_sizes ]
  [ "$(jq -r '.offsite[0].snapshot | length' "$path/backup.json")" = 64 ]
  run -0 bm offsite verify
  assert_output_contains "restored and matches its manifest"
  run -0 bm offsite restore "$(basename "$path")" restored
  [ "$(tree_sum restored)" = "$original" ]
}

@test "a wrong password, a missing repository, an unreachable one and a missing restic: exit 1, nothing changed" {
  path=$(bm backup adapter --type nightly -q)
  before=$(tree_sum models)
  echo wrong > badpw
  jq --arg pw "$WORK/badpw" '.offsite.password_file = $pw' models/.modelkeep/config.json > c && mv c models/.modelkeep/config.json
  run -1 bm push --all
  assert_output_contains "wrong password for the restic repository $REPO"
  [[ "$output" != *"correct horse"* ]]
  configure "$WORK/not-a-repo"
  run -1 bm push --all
  assert_output_contains "no restic repository at $WORK/not-a-repo"
  assert_output_contains "restic init"
  configure "rest:http://user:secret@127.0.0.1:9/"
  run -1 bm push --all
  assert_output_contains "unreachable"
  assert_output_contains "user:***@"
  [[ "$output" != *secret* ]]
  configure "$REPO"
  MODELKEEP_RESTIC=/nonexistent/restic run -1 bm push --all
  assert_output_contains "install the Debian package restic"
  [ "$(jq -r .offsite "$path/backup.json")" = null ]
  rm models/.modelkeep/config.json
  run -2 bm push --all
  assert_output_contains "no restic repository: pass --repo"
}

@test "the password never reaches a command line, and inherited restic settings are cleared" {
  bm backup adapter --type nightly -q >/dev/null
  cat > fake-restic <<SH
#!/bin/sh
echo "ARGS: \$*" >> "$WORK/restic-calls"
env | grep '^RESTIC_' | sort >> "$WORK/restic-calls"
exec restic "\$@"
SH
  chmod +x fake-restic
  RESTIC_PASSWORD=leaked RESTIC_PASSWORD_COMMAND="echo leaked" MODELKEEP_RESTIC="$WORK/fake-restic" run -0 bm push --all
  ! grep -q "correct horse" restic-calls
  ! grep -q leaked restic-calls
  grep -q "^RESTIC_PASSWORD_FILE=$WORK/pw" restic-calls
  grep -q "^RESTIC_REPOSITORY=$REPO" restic-calls
  ! grep -q "ARGS:.*$REPO" restic-calls
}

@test "a stale restic lock is removed with restic unlock and the call retried once" {
  bm backup adapter --type nightly -q >/dev/null
  # A restic that dies holding an exclusive lock: key passwd waits for input, then SIGKILL.
  mkfifo hold
  RESTIC_REPOSITORY="$REPO" RESTIC_PASSWORD_FILE="$WORK/pw" restic key passwd < hold > /dev/null 2>&1 &
  holder=$!
  exec 7<>hold
  for _ in $(seq 100); do [ -n "$(ls repo/locks)" ] && break; sleep 0.05; done
  [ -n "$(ls repo/locks)" ]
  kill -9 "$holder"; wait "$holder" 2>/dev/null || true
  exec 7>&-
  run -0 bm -v push --all
  assert_output_contains "restic unlock"
  [ "$(snapshot_count)" = 1 ]
}

@test "cleanup --require-offsite keeps a backup that was never pushed" {
  old=$(bm backup adapter --type nightly -q)
  touch_adapter
  pushed=$(bm backup adapter --type nightly -q)
  touch_adapter
  newest=$(bm backup adapter --type nightly -q)
  bm push "$pushed" -q
  # Pushed but not yet restored and compared: the copy does not count yet.
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "not verified yet (push only confirmed what restic stored"
  run -0 bm offsite verify --backup "nightly/$(basename "$pushed")"
  assert_output_contains "restored and matches its manifest"
  [ "$(jq -r '.offsite[0].verification.state' "$pushed/backup.json")" = verified ]
  # Same source (the adapter dir): keep-last 1 would delete old and pushed.
  run -0 bm cleanup --keep-last 1 --require-offsite --execute --json
  [ "$(jq -r '[.backups[] | select(.action == "delete") | .id] | join(",")' <<< "$output")" = "nightly/$(basename "$pushed")" ]
  [ -d "$old" ] && [ ! -e "$pushed" ] && [ -d "$newest" ]
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "without a remote copy (--require-offsite)"
}

@test "offsite forget applies the policy remotely, a dry run by default" {
  for i in 1 2 3; do touch_adapter; bm backup adapter --type nightly -q >/dev/null; done
  bm push --all -q
  [ "$(snapshot_count)" = 3 ]
  run -0 bm offsite forget --keep-last 1
  assert_output_contains "dry run"
  [ "$(snapshot_count)" = 3 ]
  run -2 bm offsite forget --execute
  run -0 bm offsite forget --keep-last 1 --execute
  [ "$(snapshot_count)" = 1 ]
  # The local records of forgotten copies no longer count for --require-offsite.
  run -0 bm cleanup --keep-last 1 --require-offsite
  assert_output_contains "forgotten 20"
}

@test "the nightly job pushes and verifies remote copies when MODELKEEP_OFFSITE=yes" {
  bm --model alpha backup adapter -q >/dev/null
  bm backup adapter -q >/dev/null
  MODELKEEP_OFFSITE=yes MODELKEEP_VERIFY_SLICES=1 run -0 --separate-stderr \
    env MODELKEEP_BACKUP_MANAGER="$BM" "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh"
  [ -z "$output" ]
  [ "$(snapshot_count)" = 2 ]
  grep -q "offsite: pushing" models/.modelkeep/nightly.log
  run -1 env MODELKEEP_OFFSITE=maybe MODELKEEP_BACKUP_MANAGER="$BM" "$MODELKEEP_SOURCE_DIR/scripts/nightly-retention.sh"
}

@test "every restic call is bounded by the timeout" {
  bm backup adapter --type nightly -q >/dev/null
  printf '#!/bin/sh\nsleep 30\n' > slow-restic && chmod +x slow-restic
  start=$(date +%s)
  MODELKEEP_RESTIC="$WORK/slow-restic" MODELKEEP_RESTIC_TIMEOUT=1 run -1 bm push --all
  assert_output_contains "timed out after"
  assert_output_contains "MODELKEEP_RESTIC_TIMEOUT"
  [ $(( $(date +%s) - start )) -lt 15 ]
  MODELKEEP_RESTIC_TIMEOUT=soon run -2 bm push --all
}

@test "repair takes an intact copy from the remote copy when no local one is left" {
  mv_ create --adapter adapter --description one -q
  path=$(bm backup adapter -q)
  bm push --all -q
  # Damage the version's own file and the local backup's copy: only the remote one is intact.
  v1=$(version_dir 1)
  flip_byte "$v1/adapter/adapter_model.safetensors" 7
  flip_byte "$path/data/adapter_model.safetensors" 7
  run -1 mv_ repair --no-remote
  assert_output_contains "NOT REPAIRED"
  run -0 mv_ repair
  assert_output_contains "repaired from remote copy"
  run -0 mv_ verify
}
