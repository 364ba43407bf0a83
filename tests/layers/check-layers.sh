#!/usr/bin/env bash
# The architecture as a test: every #include "..." in the library, the server and the tools
# goes from a folder to the same folder or to one below it in LAYERS, and no two units (a .hpp
# with its .cpp) include each other, directly or through others. Prints each offending include
# and exits 1. usage: tests/layers/check-layers.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"

# Lowest first. A folder may include only itself and the folders before it.
LAYERS=(
  common/util
  common/core/tree
  common/core/weights
  common/core/layout
  common/core/backup
  common/core/versions
  common/core/stages
  common/core/telemetry
  common/core/trust
  common/commands
  common/modelkeep
  common/app
  versioner/serve
  versioner
  backup
  consolidate
)

# The public error type is the base of every layer (it includes only standard headers): the
# library throws it and the installed API declares it, so every folder may include it.
BASE=common/modelkeep/error.hpp

rank_of() {
  local i
  for i in "${!LAYERS[@]}"; do
    [ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
  done
  echo -1
}

# Where an include names a file: relative to common/ (the library's include root), to
# versioner/ (the server's), or to the including file's folder.
resolve() {
  local from_dir=$1 name=$2
  for base in common versioner "$from_dir"; do
    if [ -f "$base/$name" ]; then
      realpath --relative-to=. "$base/$name"
      return
    fi
  done
}

status=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
files=$(find common versioner backup consolidate -name '*.cpp' -o -name '*.hpp' | sort)
for file in $files; do
  dir=$(dirname "$file")
  from_rank=$(rank_of "$dir")
  if [ "$from_rank" -lt 0 ]; then
    echo "check-layers: $dir is not in LAYERS (add it where it belongs)" >&2
    status=1
    continue
  fi
  while IFS= read -r name; do
    target=$(resolve "$dir" "$name")
    [ -n "$target" ] || continue # a generated file (serve_assets) or a system header
    to_dir=$(dirname "$target")
    to_rank=$(rank_of "$to_dir")
    if [ "$target" = "$BASE" ]; then
      :
    elif [ "$to_dir" != "$dir" ] && [ "$to_rank" -ge "$from_rank" ]; then
      echo "check-layers: $file includes $target: $dir may only use folders below it" >&2
      status=1
    fi
    echo "${file%.*} ${target%.*}" >> "$edges"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done

if grep -q '^#include "' "$BASE"; then
  echo "check-layers: $BASE is the base of every layer and may include only standard headers" >&2
  status=1
fi

# Units that include each other: tsort reports a loop (a unit's own .cpp including its .hpp
# is a self-edge, which tsort ignores).
if ! loop=$(tsort "$edges" 2>&1 >/dev/null) || [ -n "$loop" ]; then
  echo "check-layers: include cycle between units:" >&2
  echo "$loop" | sed 's/^tsort: /  /' >&2
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "check-layers: $(wc -l < "$edges") includes in $(echo "$files" | wc -l) files follow the layers, no cycles"
fi
exit "$status"
