#!/bin/bash
# lib/diagnose.sh - host side of lab.sh's diagnose: runs lvsdoctor on the
# cases a guest gathered and checks what it says.
#
# usage: lib/diagnose.sh OUTDIR SCENARIO
#   OUTDIR is the guest's /lvsout; each line of OUTDIR/diagnose.want is
#   "CASEDIR EXPECT" (CASEDIR under OUTDIR). lvsdoctor is $LVSDOCTOR (empty:
#   not built, the check is skipped). Writes OUTDIR/diagnosis.json and
#   OUTDIR/diagnosis.verdict and prints one PASS:/FAIL:/SKIP: line per case,
#   as the checks inside the guest do.
# EXPECT=healthy: no finding with severity critical (exit status 0);
# EXPECT=<cause id>: findings[0].id is that cause and cites evidence (exit 1).
# A scrape of `lvsdoctor serve` the guest saved in a case (serve-*.prom) is
# given to promtool check metrics, Prometheus' own linter, here: the guest
# has no network for a Prometheus to scrape it.
set -uo pipefail
OUT=$1 SCENARIO=$2
for prom in "$OUT"/testdata/*/serve-*.prom; do
    [ -f "$prom" ] || continue
    if ! command -v promtool >/dev/null; then
        echo "SKIP: $SCENARIO: promtool check metrics: no promtool (Debian package prometheus)"
    elif lint=$(promtool check metrics <"$prom" 2>&1); then
        echo "PASS: $SCENARIO: promtool check metrics passes on serve's /metrics from real IPVS (${prom##*/})"
    else
        echo "$lint" | sed 's/^/  /'
        echo "FAIL: $SCENARIO: promtool check metrics passes on serve's /metrics from real IPVS (${prom##*/})"
    fi
done
[ -f "$OUT/diagnose.want" ] || exit 0
while read -r dir want; do
    if [ -z "${LVSDOCTOR:-}" ] || [ ! -x "${LVSDOCTOR:-}" ]; then
        echo "SKIP: $SCENARIO: diagnosis ($want): no lvsdoctor binary (LVSDOCTOR unset or not built)"
        continue
    fi
    "$LVSDOCTOR" diagnose "$OUT/$dir" -o json >"$OUT/diagnosis.json" 2>"$OUT/diagnosis.err"; rc=$?
    verdict=$(python3 - "$want" "$rc" "$OUT/diagnosis.json" <<'PY'
import json, sys
want, rc, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    doc = json.load(open(path))
except Exception as e:
    print(f"BAD output is not JSON ({e}); exit {rc}"); sys.exit()
f = doc.get("findings") or []
first = f[0]["id"] if f else "-"
if want == "healthy":
    crit = [x["id"] for x in f if x.get("severity") == "critical"]
    ok = not crit and rc == 0
    print(("OK" if ok else "BAD") + f" exit {rc}, critical: {crit or 'none'}, first: {first}")
else:
    ok = bool(f) and f[0].get("id") == want and bool(f[0].get("evidence")) and rc == 1
    print(("OK" if ok else "BAD") + f" exit {rc}, first: {first}, evidence: {len(f[0].get('evidence') or []) if f else 0}")
PY
)
    echo "  lvsdoctor: $verdict"
    echo "$verdict" >"$OUT/diagnosis.verdict"
    if [ "${verdict%% *}" = OK ]; then echo "PASS: $SCENARIO: lvsdoctor diagnosis is $want"
    else echo "FAIL: $SCENARIO: lvsdoctor diagnosis is $want"; fi
done <"$OUT/diagnose.want"
