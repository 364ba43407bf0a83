#!/usr/bin/env bats
# make install: the library, its headers, a CMake package and a pkg-config file under a
# prefix; an outside program builds against them (the documented example, both ways) and runs;
# the nightly job's files name that prefix.

load helpers

setup() {
  setup_workdir
  PREFIX="$WORK/prefix"
  cmake --install "$MODELKEEP_BUILD_DIR" --prefix "$PREFIX" > install.log 2>&1 || { cat install.log; return 1; }
  # The library page's example, as written there.
  sed -n '/^# The C++ library/,/^Build it with/p' "$MODELKEEP_SOURCE_DIR/docs/library.md" |
    sed -n '/^```cpp$/,/^```$/p' | sed '1d;$d' > app.cpp
  mv_ create --adapter adapter --description one -q
  mv_ promote 1 -q
}

@test "the installed headers show only the public API" {
  [ -f "$PREFIX/include/modelkeep/registry.hpp" ] && [ -f "$PREFIX/include/modelkeep/error.hpp" ]
  [ -z "$(grep -h '#include' "$PREFIX"/include/modelkeep/*.hpp | grep -v -e '<[a-z_]*>' -e '<nlohmann/json.hpp>' -e '"modelkeep/error.hpp"')" ]
  ! grep -rq "CLI11\|core::\|util::" "$PREFIX/include"
  ls "$PREFIX"/lib/libmodelkeep.so.0 "$PREFIX"/lib/cmake/modelkeep/modelkeepConfig.cmake "$PREFIX"/lib/pkgconfig/modelkeep.pc
}

@test "an outside CMake project finds the package, builds the documented example and runs it" {
  grep -q "modelkeep::Registry" app.cpp
  cmake -S "$MODELKEEP_SOURCE_DIR/tests/install" -B consumer -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DAPP_SOURCE="$WORK/app.cpp" > configure.log 2>&1 || { cat configure.log; return 1; }
  run cmake --build consumer
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run -0 consumer/app "$MODELKEEP_ROOT"
  assert_output_contains "serving $(basename "$(version_dir 1)")"
  assert_output_contains "1 versions on the first page"
  # A missing store is modelkeep::Error, not a crash.
  run ! consumer/app "$WORK/nowhere"
  assert_output_contains "nowhere"
}

@test "pkg-config builds the same example" {
  run -0 env PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs modelkeep
  flags=$output
  run g++ -o app app.cpp $flags
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run -0 ./app "$MODELKEEP_ROOT"
  assert_output_contains "serving $(basename "$(version_dir 1)")"
}

@test "the nightly job's files name the prefix they were installed under" {
  grep -q "$PREFIX/share/modelkeep/nightly-retention.sh" "$PREFIX/share/modelkeep/modelkeep.crontab"
  grep -q "ExecStart=$PREFIX/share/modelkeep/nightly-retention.sh" "$PREFIX/share/modelkeep/modelkeep-nightly.service"
  grep -q "^MODELKEEP_BIN ?= $PREFIX/bin/" "$PREFIX/share/modelkeep/modelkeep.mk"
  ! grep -rq "/usr/local" "$PREFIX/share/modelkeep"
  # The installed nightly script finds the installed backup-manager without PATH.
  bm backup adapter -q >/dev/null
  run -0 env PATH=/usr/bin:/bin MODELKEEP_ROOT="$MODELKEEP_ROOT" "$PREFIX/share/modelkeep/nightly-retention.sh"
}

@test "the man pages and the bash completion are installed" {
  [ -f "$PREFIX/share/man/man1/model-versioner.1" ]
  [ -f "$PREFIX/share/man/man1/model-versioner-ab-conclude.1" ]
  [ -f "$PREFIX/share/man/man1/backup-manager-offsite-forget.1" ]
  [ ! -e "$PREFIX/share/man/man1/model-versioner.stamp" ]
  for tool in model-versioner backup-manager; do
    [ -f "$PREFIX/share/bash-completion/completions/$tool" ]
  done
}
