#!/usr/bin/env bash
# Installs the Debian packages modelkeep needs to build and test, and nothing else.
# Idempotent and non-interactive: packages already installed are left alone, and
# apt-get runs (after one `apt-get update`) only when something is missing.
#
# usage: scripts/install-deps.sh [--check] [--bench] [--fuzz] [--browser]
#   --check   only report what is missing (exit 1 if anything is)
#   --bench   also what `make bench` needs (gnuplot for the plots, openssl and tar for the references, wrk)
#   --fuzz    also what `make fuzz` and `make tidy` need (clang, its libFuzzer and sanitizer runtimes, clang-tidy)
#   --browser also what `make test-browser` needs (chromium, python3 to drive it)
set -euo pipefail

base_packages=(
  g++ cmake ninja-build make pkg-config
  libssl-dev nlohmann-json3-dev libcli11-dev doctest-dev libarchive-dev libsimdjson-dev
  bats jq zstd util-linux python3 xfsprogs
  restic openssh-sftp-server
  libboost-dev curl
  libtorch-dev libopenblas0-pthread
)

bench_packages=(gnuplot-nox openssl tar coreutils wrk)
fuzz_packages=(clang libclang-common-14-dev clang-tidy)
browser_packages=(chromium python3)

check_only=no
packages=("${base_packages[@]}")
for arg in "$@"; do
  case "$arg" in
    --check) check_only=yes ;;
    --bench) packages+=("${bench_packages[@]}") ;;
    --fuzz) packages+=("${fuzz_packages[@]}") ;;
    --browser) packages+=("${browser_packages[@]}") ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: error: unknown option $arg" >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: error: this is not a Debian-based system (no dpkg-query/apt-get)." >&2
  echo "Install these Debian package equivalents by hand:" >&2
  printf '  %s\n' "${packages[@]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$check_only" = yes ]; then
  echo "missing packages: ${missing[*]}"
  exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
  else
    echo "install-deps.sh: error: not root and no sudo; install as root: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
