#!/usr/bin/env bash
# Runs packetdrill's TCP scripts against vlo through the --so_filename adapter and prints
# PASS/FAIL per script (with the first error line), then "N passed, M failed".
#   tools/packetdrill.sh [--so LIB.so] [--floor N] [DIR...]
# DIR: folders under the scripts' tcp/ (default: all of them). PACKETDRILL: the binary
# (default ../shared/tools/packetdrill beside the project); PACKETDRILL_SCRIPTS: the tcp/
# folder (default ../shared/packetdrill/tcp). The scripts are test data kept outside the project.
# Exit: 0, or 1 if fewer than --floor scripts pass; 77 (skipped) without packetdrill or scripts.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
so=
floor=0
while [ $# -gt 0 ]; do
  case $1 in
    --so) so=$2; shift 2 ;;
    --floor) floor=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "packetdrill.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
pick() { for p in "$@"; do [ -e "$p" ] && { echo "$p"; return 0; }; done; return 1; }
pd=${PACKETDRILL:-$(pick "$root/../shared/tools/packetdrill" /work/shared/tools/packetdrill)}
scripts=${PACKETDRILL_SCRIPTS:-$(pick "$root/../shared/packetdrill/tcp" /work/shared/packetdrill/tcp)}
[ -n "$so" ] || so=$(find "$root/build" -name 'libvlo_packetdrill.so' 2>/dev/null | head -1)
if [ -z "${pd:-}" ] || [ ! -x "$pd" ]; then echo "SKIPPED: no packetdrill binary (set PACKETDRILL)"; exit 77; fi
if [ -z "${scripts:-}" ] || [ ! -d "$scripts" ]; then echo "SKIPPED: no packetdrill scripts (set PACKETDRILL_SCRIPTS)"; exit 77; fi
if [ -z "$so" ] || [ ! -f "$so" ]; then echo "packetdrill.sh: no adapter library (build vlo_packetdrill or pass --so)" >&2; exit 2; fi
so=$(cd "$(dirname "$so")" && pwd)/$(basename "$so")

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  for d in "$scripts"/*/; do
    d=$(basename "$d")
    [ "$d" = common ] || dirs+=("$d")
  done
fi
pass=0; fail=0
for d in "${dirs[@]}"; do
  for s in "$scripts/$d"/*.pkt; do
    [ -f "$s" ] || continue
    name=$d/$(basename "$s" .pkt)
    out=$(cd "$(dirname "$s")" && timeout "${PD_TIMEOUT:-60}" "$pd" --so_filename="$so" \
          ${SO_FLAGS:+--so_flags="$SO_FLAGS"} "$(basename "$s")" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      echo "PASS $name"; pass=$((pass + 1))
    else
      why=$(grep -m1 -E 'error|assert|timed out|expected|Assertion' <<<"$out" | sed -E 's/^[^ ]*\.pkt:([0-9]+): /line \1: /' | cut -c1-200)
      echo "FAIL $name: ${why:-exit $rc}"; fail=$((fail + 1))
    fi
  done
done
echo "$pass passed, $fail failed"
if [ "$pass" -lt "$floor" ]; then
  echo "packetdrill.sh: $pass scripts pass, fewer than the floor of $floor" >&2
  exit 1
fi
exit 0
