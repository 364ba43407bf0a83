#!/usr/bin/env bats
# The architecture and the on-disk layout: the include-layer check catches an upward include
# and a cycle, and a store written with the file names of the previous release (0.1) reads
# and is migrated by the next write.

load helpers

@test "the sources follow the layers: no upward include, no include cycle" {
  run -0 "$MODELKEEP_SOURCE_DIR/tests/layers/check-layers.sh" "$MODELKEEP_SOURCE_DIR"
  assert_output_contains "follow the layers, no cycles"
}

@test "the layer check fails on an upward include and on a cycle between units" {
  mkdir src
  (cd "$MODELKEEP_SOURCE_DIR" && tar cf - common versioner backup consolidate tests/layers) | tar xf - -C src
  # The store reaching up into telemetry.
  sed -i '1a #include "core/telemetry/ab.hpp"' src/common/core/layout/store.cpp
  run -1 src/tests/layers/check-layers.sh src
  assert_output_contains "common/core/layout/store.cpp includes common/core/telemetry/ab.hpp"
  # Two units of one room that include each other.
  sed -i '2d' src/common/core/layout/store.cpp
  sed -i '1a #include "core/versions/catalog.hpp"' src/common/core/versions/list_index.cpp
  run -1 src/tests/layers/check-layers.sh src
  assert_output_contains "include cycle"
  assert_output_contains "common/core/versions/catalog"
}

@test "a store with the previous release's file names reads, and the next write renames them" {
  mv_ create --adapter adapter --description first -q
  touch_adapter
  mv_ create --adapter adapter --description second -q
  mv_ ab create exp --control 1 --treatment 2 -q
  mv_ ab start exp -q
  mv_ ab record exp --variant control --correct 1
  list_before=$(mv_ list --json | jq -c '.versions | map(.name)')
  # Release 0.1 names: versions/registry.json, the root's registry.json, ab/<id>/events.jsonl.
  mv models/versions/index.json models/versions/registry.json
  mv models/catalog.json models/registry.json
  mv models/versions/ab/exp/predictions.jsonl models/versions/ab/exp/events.jsonl
  [ "$(mv_ list --json | jq -c '.versions | map(.name)')" = "$list_before" ]
  run -0 mv_ catalog --json
  [ "$(echo "$output" | jq -r '.models[0].version_count')" = 2 ]
  # The A/B test keeps using its old log: the earlier record counts, and new ones join it.
  mv_ ab record exp --variant control --correct 0
  [ "$(mv_ ab status exp --json | jq -r '.variants.control.predictions')" = 2 ]
  [ ! -e models/versions/ab/exp/predictions.jsonl ]
  # The next write of the model writes the new names and drops the stale ones.
  mv_ promote 2 -q
  [ -f models/versions/index.json ] && [ ! -e models/versions/registry.json ]
  [ -f models/catalog.json ] && [ ! -e models/registry.json ]
  [ "$(jq -r '.stages.production' models/versions/index.json)" = "$(basename "$(version_dir 2)")" ]
  run -0 mv_ verify
}

@test "no unit test name holds a ';' (CTest would cut the name there and run no test under it)" {
  run grep -n 'TEST_CASE("[^"]*;' "$MODELKEEP_SOURCE_DIR"/tests/unit/*.cpp
  [ "$status" -eq 1 ] || { echo "$output"; return 1; }
}
