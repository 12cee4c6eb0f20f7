#!/usr/bin/env bash
# vlo-lab runs a design from a plugin beside the built-ins: a row for it, with packets through.
#   plugin_lab.sh VLO_LAB PLUGIN.so QUEUE_NAME
set -euo pipefail
lab=$1 plugin=$2 name=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$lab" --plugin "$plugin" --quick --time 0.05 --workload udp_rr_1B --cpus 1 --worker softirq \
  --json "$tmp/lab.json" >"$tmp/lab.md"
python3 - "$tmp/lab.json" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in d["results"] if r.get("stack") == "vlo" and r.get("queue") == sys.argv[2]]
assert rows, "no row for the plugged-in design"
assert all(r["ok"] for r in rows), rows
assert any(r["queue"] == "list" for r in d["results"]), "the built-ins ran beside it"
ops = [r.get("ops_per_s", 0) for r in rows]
assert all(o > 0 for o in ops), ops
print("rows for", sys.argv[2], ":", len(rows), "ops/s", ops)
PY
grep -q "$name/softirq" "$tmp/lab.md"
