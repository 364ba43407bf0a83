#!/usr/bin/env bats
# backup-manager cleanup and delete: dry run by default, protected backups survive.

load helpers

# Makes a verified backup and back-dates it by rewriting created_at and its name's stamp.
aged_backup() {  # aged_backup DAYS_AGO
  local path when
  path=$(bm backup adapter -q)
  when=$(date -u -d "@$(( $(date +%s) - $1 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
  jq --arg t "$when" '.created_at = $t' "$path/backup.json" > "$path/backup.json.new"
  mv "$path/backup.json.new" "$path/backup.json"
  echo "$path"
}

@test "an empty policy is refused" {
  run -2 bm cleanup
  assert_output_contains "refusing to clean up without a policy"
}

@test "a dry run changes nothing; --execute deletes exactly what it listed" {
  for d in 40 30 20 10 1; do aged_backup "$d" >/dev/null; done
  before=$(tree_sum models/backups)
  run -0 bm cleanup --retention-days 15
  dry=$(echo "$output" | grep '^DELETE' | awk '{print $2}' | sort)
  [ "$(echo "$dry" | wc -l)" = 3 ]
  assert_output_contains "dry run: nothing was deleted"
  [ "$(tree_sum models/backups)" = "$before" ]
  run -0 bm cleanup --retention-days 15 --execute
  done=$(echo "$output" | grep '^DELETED' | awk '{print $2}' | sort)
  [ "$done" = "$dry" ]
  assert_output_contains "2 kept, 3 deleted ("
  for id in $dry; do [ ! -e "models/backups/$id" ]; done
  [ "$(ls models/backups/emergency | wc -l)" = 2 ]
  [ "$(grep -c backup_cleanup models/versions/events.jsonl)" = 3 ]
}

@test "the newest verified backup of a source survives a policy that keeps nothing" {
  aged_backup 90 >/dev/null
  newest=$(aged_backup 60)
  run -0 bm cleanup --keep-last 0 --execute
  [ -d "$newest" ]
  [ "$(ls models/backups/emergency | wc -l)" = 1 ]
  assert_output_contains "protected: the newest verified backup of $WORK/adapter"
}

@test "keep-daily keeps the newest of each day" {
  aged_backup 3 >/dev/null; aged_backup 3 >/dev/null; aged_backup 2 >/dev/null
  run -0 bm cleanup --keep-daily 5
  [ "$(echo "$output" | grep -c '^KEEP')" = 2 ]
  [ "$(echo "$output" | grep -c '^DELETE')" = 1 ]
  assert_output_contains "daily "
}

@test "a deleted version's backup is never cleaned up" {
  mv_ create --adapter adapter --description one
  touch_adapter
  mv_ create --adapter adapter --description two
  mv_ delete 1 --confirm
  mv_ delete 2 --confirm
  bm backup adapter -q --type deleted_versions >/dev/null
  run -0 bm cleanup --keep-last 0 --type deleted_versions --execute
  [ "$(ls models/backups/deleted_versions | wc -l)" = 3 ]
  assert_output_contains "the copy of deleted version v001_"
  assert_output_contains "the copy of deleted version v002_"
}

@test "delete needs --confirm, and --force for a protected backup" {
  old=$(aged_backup 5)
  new=$(aged_backup 1)
  run -4 bm delete "$old"
  [ -d "$old" ]
  run -0 bm delete "$old" --confirm
  [ ! -e "$old" ]
  run -4 bm delete "$new" --confirm
  assert_output_contains "newest verified backup"
  run -0 bm delete "$new" --confirm --force
  [ ! -e "$new" ]
}
