#!/usr/bin/env bash
# Interleaved before/after rounds of the hostile e2e tests against two proxy trees, with every
# cyclic-GC pass of the proxy logged (gcprobe/). What bench/hostile/REPORT.md's medians come from.
#
#   git archive <before> proxy-image operator | tar -x -C /tmp/before    # likewise /tmp/after
#   bench/hostile/interleave.sh OUT ROUNDS "slowloris slow_readers" /tmp/before /tmp/after
#
# Round 1 runs before then after, round 2 after then before, and so on. Each run's figures
# (bench/out/hostile JSON line), pytest output and GC log go to OUT/<test>-<tree>-<round>.*;
# at the end `summarize.py` prints one line per run and the median p99 ratio per test and tree.
# The proxy of each tree, and the operator that compiles its config (the two change together),
# are imported through PYTHONPATH, ahead of the venv's editable install.
# The tests (this checkout's, for both trees) put the attacker on a core of its own and the proxy,
# the client and the backends on the other, the proxy at nice 5 there (hostile_kit.pinned;
# MESHGATE_HOSTILE_PIN=proxy is the older layout, 0 turns it off: only on a quiet machine is it
# fair), and open the client's window only once the attack has stopped opening connections
# (_ramped).
#
# On a quiet 2-core machine, one round of two tests with 10,000 attackers takes about 11 min.
# From an export of the repository (git archive | tar -x) it needs a .venv: a symlink to a
# checkout's is enough (bench/hostile/REPORT.md has the whole command).
set -uo pipefail
[ $# -eq 5 ] || { echo "usage: $0 OUT ROUNDS 'K1 K2' BEFORE_TREE AFTER_TREE" >&2; exit 2; }
out=$1 rounds=$2 tests=$3
declare -A tree=([before]=$4 [after]=$5)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$out"
cd "$repo"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
  for k in $tests; do
    for v in $order; do
      tag=$k-$v-$r
      # The previous run's network namespace and its 10,000 sockets are torn down by the
      # kernel after the run: two runs started at once had their baselines disturbed (client
      # p99 24 ms and 2.8 ms, against 1.0-1.6 ms after a pause), so each run waits GAP seconds.
      sleep "${GAP:-20}"
      gclog=$(mktemp -d)
      echo "$(date -u +%T) $tag load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/series.log"
      PYTHONPATH="${tree[$v]}/operator:${tree[$v]}/proxy-image:$here/gcprobe" MESHGATE_GC_LOG="$gclog" \
        MESHGATE_HOSTILE_PIN="${MESHGATE_HOSTILE_PIN:-attacker}" \
        MESHGATE_HOSTILE_ATTACKERS="${MESHGATE_HOSTILE_ATTACKERS:-10000}" \
        timeout 900 hack/in-netns.sh .venv/bin/pytest -q -s -p no:cacheprovider \
        tests/e2e/hostile -k "$k" > "$out/$tag.log" 2>&1
      echo "  rc=$? $(date -u +%T)" >> "$out/series.log"
      cat "$gclog"/*.tsv > "$out/$tag.gc.tsv" 2>/dev/null
      rm -rf "$gclog"
      grep '^{"test"' "$out/$tag.log" > "$out/$tag.json"
    done
  done
done
.venv/bin/python "$here/summarize.py" "$out" | tee "$out/summary.txt"
