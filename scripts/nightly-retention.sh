#!/usr/bin/env bash
# Nightly job for cron or systemd: verifies a rotating slice of all backups of every model (or
# of the models listed), then applies the retention policy to each model on its own. Quiet unless something is wrong; everything goes to a log file; exits
# non-zero on any failure. Never runs twice at once (its own flock).
#
# usage: nightly-retention.sh [--config FILE]
#
# Settings (environment, else the config file, else the default shown):
#   MODELKEEP_ROOT            store root                            (./models)
#   MODELKEEP_MODELS          models to cover, separated by spaces  (every model in the root)
#   MODELKEEP_OFFSITE         yes: push new verified backups with restic, verify a slice of the
#                             repository, and clean up only backups with a remote copy  (no)
#   MODELKEEP_RETENTION_DAYS  keep every backup newer than N days   (unset)
#   MODELKEEP_KEEP_LAST / _KEEP_DAILY / _KEEP_WEEKLY / _KEEP_MONTHLY  (unset)
#   MODELKEEP_VERIFY_SLICES   verify all backups over this many nights (7)
#   MODELKEEP_NIGHTLY_LOG     log file                  ($MODELKEEP_ROOT/.modelkeep/nightly.log)
#   MODELKEEP_BACKUP_MANAGER  the backup-manager binary (backup-manager on PATH, else the build)
# The config file (default $MODELKEEP_ROOT/.modelkeep/nightly.conf, if present) holds the same
# names as KEY=VALUE lines. With no retention setting at all, only the verification runs.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
config=
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "nightly-retention.sh: error: unknown argument $1" >&2; exit 2 ;;
  esac
done

settings=(MODELKEEP_ROOT MODELKEEP_MODELS MODELKEEP_OFFSITE MODELKEEP_RETENTION_DAYS MODELKEEP_KEEP_LAST MODELKEEP_KEEP_DAILY MODELKEEP_KEEP_WEEKLY
          MODELKEEP_KEEP_MONTHLY MODELKEEP_VERIFY_SLICES MODELKEEP_NIGHTLY_LOG MODELKEEP_BACKUP_MANAGER)

# Reads KEY=VALUE lines for known keys only, without running the file as shell code;
# variables already set in the environment win.
read_config() {
  local file=$1 key value
  [ -f "$file" ] || { echo "nightly-retention.sh: error: config file $file not found" >&2; exit 2; }
  while IFS='=' read -r key value; do
    key=${key//[[:space:]]/}
    case "$key" in ''|\#*) continue ;; esac
    value=${value%\"}; value=${value#\"}
    for known in "${settings[@]}"; do
      if [ "$key" = "$known" ] && [ -z "${!key:-}" ]; then
        printf -v "$key" '%s' "$value"
        export "${key?}"
      fi
    done
  done < "$file"
}

root=${MODELKEEP_ROOT:-models}
if [ -n "$config" ]; then
  read_config "$config"
elif [ -f "$root/.modelkeep/nightly.conf" ]; then
  read_config "$root/.modelkeep/nightly.conf"
fi
root=${MODELKEEP_ROOT:-models}
# A wrong root must fail loudly, not verify an empty store it just made.
if [ ! -d "$root" ]; then
  echo "nightly-retention.sh: error: no store root $root: no such directory (set MODELKEEP_ROOT)" >&2
  exit 3
fi
mkdir -p "$root/.modelkeep" || exit 1
log=${MODELKEEP_NIGHTLY_LOG:-$root/.modelkeep/nightly.log}
slices=${MODELKEEP_VERIFY_SLICES:-7}

bm=${MODELKEEP_BACKUP_MANAGER:-}
if [ -z "$bm" ]; then
  bm=$(command -v backup-manager || true)
  # Installed as PREFIX/share/modelkeep/nightly-retention.sh: PREFIX/bin; in the source tree: the build.
  [ -n "$bm" ] || { [ -x "$here/../../bin/backup-manager" ] && bm="$here/../../bin/backup-manager"; }
  [ -n "$bm" ] || bm="$here/../build/backup/backup-manager"
fi
case "$bm" in */*) ;; *) bm=$(command -v "$bm" || echo "$bm") ;; esac
[ -x "$bm" ] || { echo "nightly-retention.sh: error: backup-manager not found (set MODELKEEP_BACKUP_MANAGER)" >&2; exit 1; }

mkdir -p "$(dirname "$log")" || exit 1
run_start=0
[ -f "$log" ] && run_start=$(wc -l < "$log")
say() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$log"; }
fail() {
  say "FAILED: $*"
  echo "nightly-retention.sh: $* (log: $log)" >&2
  tail -n +"$((run_start + 1))" "$log" | sed 's/^/  /' >&2
  exit 1
}

exec 9>>"$root/.modelkeep/nightly.lock"
flock -n 9 || fail "another nightly run is still going"

case "$slices" in ''|*[!0-9]*|0) fail "MODELKEEP_VERIFY_SLICES must be a positive number, not '$slices'" ;; esac
# Every model at once (--all-models), or each listed model in turn.
models=()
read -r -a models <<< "${MODELKEEP_MODELS:-}"
for_models() {
  local model
  if [ ${#models[@]} -eq 0 ]; then
    "$bm" --root "$root" --no-progress "$@" --all-models
    return
  fi
  for model in "${models[@]}"; do
    "$bm" --root "$root" --model "$model" --no-progress "$@" || return
  done
}

slice=$(( ($(date -u +%s) / 86400) % slices + 1 ))
say "start: root $root, models ${MODELKEEP_MODELS:-(all)}, verifying slice $slice/$slices"
for_models verify --all --subset "$slice/$slices" >> "$log" 2>&1 \
  || fail "verification of slice $slice/$slices found problems"

case "${MODELKEEP_OFFSITE:-no}" in
  yes)
    say "offsite: pushing new verified backups, checking repository slice $slice/$slices"
    for_models push --all >> "$log" 2>&1 || fail "pushing backups off the machine failed"
    for_models offsite verify --subset "$slice/$slices" >> "$log" 2>&1 || fail "verification of the remote copies failed"
    ;;
  no) ;;
  *) fail "MODELKEEP_OFFSITE must be yes or no, not '$MODELKEEP_OFFSITE'" ;;
esac

policy=()
[ -n "${MODELKEEP_RETENTION_DAYS:-}" ] && policy+=(--retention-days "$MODELKEEP_RETENTION_DAYS")
[ -n "${MODELKEEP_KEEP_LAST:-}" ] && policy+=(--keep-last "$MODELKEEP_KEEP_LAST")
[ -n "${MODELKEEP_KEEP_DAILY:-}" ] && policy+=(--keep-daily "$MODELKEEP_KEEP_DAILY")
[ -n "${MODELKEEP_KEEP_WEEKLY:-}" ] && policy+=(--keep-weekly "$MODELKEEP_KEEP_WEEKLY")
[ -n "${MODELKEEP_KEEP_MONTHLY:-}" ] && policy+=(--keep-monthly "$MODELKEEP_KEEP_MONTHLY")
if [ ${#policy[@]} -eq 0 ]; then
  say "no retention policy set: cleanup skipped"
else
  say "cleanup ${policy[*]}"
  [ "${MODELKEEP_OFFSITE:-no}" = yes ] && policy+=(--require-offsite)
  for_models cleanup "${policy[@]}" --execute >> "$log" 2>&1 || fail "cleanup failed"
fi
say "done"
