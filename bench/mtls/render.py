# ruff: noqa: RUF001 - the report is typeset text: its dashes are meant
"""bench/mtls/REPORT.md from one run's results.json: pure, so `run.py --render` can redo it.

Every figure is a median over rounds with its min-max; ratios are taken per round (same round,
same machine state) and their median quoted, next to the ratio of the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]

HOP_NAMES = {
    "Pb": "Pb: plaintext hop, before (`--before`, pure Python)",
    "Mb": "Mb: mTLS hop, before (`--before`, pure Python)",
    "P": "P: plaintext hop",
    "M": "M: mTLS hop",
    "P1": "P1: plaintext, new upstream connection per request",
    "M1": "M1: mTLS, new upstream connection (full handshake) per request",
}
KIND_NAMES = {
    "H0": "H0: plaintext, new connection",
    "H1": "H1: TLS 1.3, full handshake",
    "H2": "H2: TLS 1.3, resumed (ticket)",
}

MEMORY_NAMES = {
    "O1": "O1: full handshake (client certificate verified)",
    "O2": "O2: resumed (ticket)",
}


def _num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def _spread(values: Sequence[float | None], digits: int = 0) -> str:
    xs = [v for v in values if v is not None]
    if not xs:
        return "–"
    mid = statistics.median(xs)
    return f"{_num(mid, digits)} ({_num(min(xs), digits)}–{_num(max(xs), digits)})"


def _median(values: Sequence[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def _of(rows: list[Row], key: str, value: str) -> list[Row]:
    return [r for r in rows if r[key] == value]


def _paced(row: Row, name: str) -> float | None:
    got = row["paced"].get(name)
    return float(got) if got is not None else None


def _per_round(
    rows: list[Row], a: str, b: str, key: str, get: Callable[[Row], float | None]
) -> list[tuple[float, float]]:
    """(value of a, value of b) for every round in which both were measured."""
    pairs = []
    for ra in _of(rows, key, a):
        for rb in _of(rows, key, b):
            if ra["round"] == rb["round"]:
                va, vb = get(ra), get(rb)
                if va is not None and vb is not None:
                    pairs.append((va, vb))
    return pairs


def _hop_table(hops: list[Row]) -> list[str]:
    lines = [
        "| hop | requests/s (wrk -c32) | p50 µs (paced) | p99 µs (paced) | paced rate "
        "| outbound CPU µs/req (user+kernel) | inbound CPU µs/req (user+kernel) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in HOP_NAMES.items():
        rows = _of(hops, "hop", key)
        if not rows:
            continue
        rate = _median([r["paced"].get("rate") for r in rows])
        lines.append(
            f"| {name} | {_spread([r['rps'] for r in rows])} "
            f"| {_spread([_paced(r, 'p50_us') for r in rows])} "
            f"| {_spread([_paced(r, 'p99_us') for r in rows])} | {_num(rate)}/s "
            f"| {_num(_median([r['out_user_us'] for r in rows]), 1)}+"
            f"{_num(_median([r['out_kernel_us'] for r in rows]), 1)} "
            f"| {_num(_median([r['in_user_us'] for r in rows]), 1)}+"
            f"{_num(_median([r['in_kernel_us'] for r in rows]), 1)} |"
        )
    return lines


def _cpu(r: Row) -> float:
    return float(r["out_user_us"] + r["out_kernel_us"] + r["in_user_us"] + r["in_kernel_us"])


def _comparisons(hops: list[Row]) -> list[str]:
    lines = [
        "| comparison | per-round median (min–max) | from the medians |",
        "|---|---|---|",
    ]
    for a, b in (("P", "M"), ("Pb", "Mb"), ("Pb", "P"), ("Mb", "M"), ("P1", "M1"), ("M", "M1")):

        def rps(r: Row) -> float:
            return float(r["rps"])

        pairs = _per_round(hops, a, b, "hop", rps)
        if not pairs:
            continue
        ratios = [vb / va for va, vb in pairs]
        whole = _median([v for _, v in pairs]), _median([v for v, _ in pairs])
        whole_ratio = whole[0] / whole[1] if whole[0] and whole[1] else None
        lines.append(f"| requests/s {b} ÷ {a} | {_spread(ratios, 2)} | {_num(whole_ratio, 2)} |")
        for pct in ("p50_us", "p99_us"):

            def lat(r: Row, pct: str = pct) -> float | None:
                return _paced(r, pct)

            pairs = _per_round(hops, a, b, "hop", lat)
            if not pairs:
                continue
            added = [vb - va for va, vb in pairs]
            ma = _median([v for v, _ in pairs])
            mb = _median([v for _, v in pairs])
            diff = mb - ma if ma is not None and mb is not None else None
            label = pct.removesuffix("_us")
            lines.append(f"| {label} added by {b} over {a}, µs | {_spread(added)} | {_num(diff)} |")
        pairs = _per_round(hops, a, b, "hop", _cpu)
        added = [vb - va for va, vb in pairs]
        lines.append(
            f"| CPU µs/req added by {b} over {a} (both sidecars) | {_spread(added, 1)} | "
            f"{_num(_median([v for _, v in pairs]), 1)} vs "
            f"{_num(_median([v for v, _ in pairs]), 1)} |"
        )
    return lines


def _conn_table(conns: list[Row]) -> list[str]:
    lines = [
        "| new connections to the inbound sidecar | connections/s (one at a time) "
        "| handshake µs (client view) | connect + handshake + request µs, p50 | p90 "
        "| inbound CPU µs/conn | client CPU µs/conn | resumed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, name in KIND_NAMES.items():
        rows = _of(conns, "kind", key)
        if not rows:
            continue
        resumed = sum(r["reused"] for r in rows)
        total = sum(r["connections"] for r in rows)
        failed = sum(r["failures"] for r in rows)
        lines.append(
            f"| {name} | {_spread([r['per_second'] for r in rows])} "
            f"| {_spread([r['handshake_us'] for r in rows])} "
            f"| {_spread([r['total_us'] for r in rows])} "
            f"| {_spread([r['total_p90_us'] for r in rows])} "
            f"| {_spread([r['in_cpu_us'] for r in rows])} "
            f"| {_spread([r['client_cpu_us'] for r in rows])} "
            f"| {resumed}/{total}" + (f", {failed} failed |" if failed else " |")
        )
    return lines


def _memory_table(mem: list[Row]) -> list[str]:
    lines = [
        "| in-memory handshakes, the sidecars' contexts, no sockets | client CPU µs "
        "| server CPU µs | resumed |",
        "|---|---|---|---|",
    ]
    for key, name in MEMORY_NAMES.items():
        rows = _of(mem, "kind", key)
        if not rows:
            continue
        resumed = sum(r["reused"] for r in rows)
        total = sum(r["handshakes"] for r in rows)
        lines.append(
            f"| {name} | {_spread([r['client_cpu_us'] for r in rows])} "
            f"| {_spread([r['server_cpu_us'] for r in rows])} | {resumed}/{total} |"
        )
    return lines


def _runs_table(hops: list[Row], conns: list[Row]) -> list[str]:
    lines = [
        "| round | measurement | load average (1 min) | steal % | requests / connections "
        "| errors |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(hops + conns, key=lambda r: r["round"]):
        what = r.get("hop") or r.get("kind")
        count = r.get("requests", r.get("connections"))
        errors = r.get("wrk_errors") or ""
        if "paced" in r:
            p = r["paced"]
            bad = p.get("errors", 0) + p.get("bad_status", 0) + p.get("unsent", 0)
            if bad:
                errors = (errors + "; " if errors else "") + f"paced: {bad} not ok"
        elif r.get("failures"):
            errors = f"{r['failures']} failed"
        lines.append(
            f"| {r['round']} | {what} | {r['loadavg']} | {r['steal_percent']} | {count} "
            f"| {errors} |"
        )
    return lines


def _findings(hops: list[Row], conns: list[Row], mem: list[Row]) -> list[str]:
    out: list[str] = []

    def ratio(a: str, b: str) -> float | None:
        pairs = _per_round(hops, a, b, "hop", lambda r: float(r["rps"]))
        return _median([vb / va for va, vb in pairs])

    def added(a: str, b: str, pct: str) -> float | None:
        pairs = _per_round(hops, a, b, "hop", lambda r: _paced(r, pct))
        return _median([vb - va for va, vb in pairs])

    def cpu(key: str) -> float | None:
        return _median([_cpu(r) for r in _of(hops, "hop", key)])

    m_p, p50 = ratio("P", "M"), added("P", "M", "p50_us")
    p99s = [vb - va for va, vb in _per_round(hops, "P", "M", "hop", lambda r: _paced(r, "p99_us"))]
    if p99s and min(p99s) < 0 < max(p99s):
        tail = (
            f"its p99 difference changes sign from round to round ({_num(min(p99s))} to "
            f"{_num(max(p99s))} µs): the tail is the shared machine's scheduling, not the hop"
        )
    else:
        tail = f"{_num(_median(p99s))} µs at p99"
    if m_p is not None:
        out.append(
            f"- **Pooled connections (P vs M).** The mTLS hop keeps {m_p:.0%} of the plaintext "
            f"hop's requests/s at saturation (per-round median) and adds {_num(p50)} µs at p50 "
            f"at the paced rate; {tail}. Both sidecars "
            f"together spend {_num(cpu('P'), 1)} µs of CPU per request on the plaintext hop and "
            f"{_num(cpu('M'), 1)} µs on the mTLS hop: record encryption on both ends of a "
            "keep-alive connection, no handshakes in the steady state."
        )
    before = ratio("Pb", "Mb")
    if before is not None and m_p is not None:
        out.append(
            f"- **Before and after, same run.** On the `--before` revision the mTLS hop kept "
            f"{before:.0%} of its plaintext hop's requests/s (goal: at least 85%); on the measured "
            f"revision {m_p:.0%}. The measured revision's plaintext hop ran "
            f"{_num(ratio('Pb', 'P'), 2)}× the earlier one's requests/s, its mTLS hop "
            f"{_num(ratio('Mb', 'M'), 2)}×; CPU per request (both sidecars) "
            f"{_num(cpu('Pb'), 1)} → {_num(cpu('P'), 1)} µs plaintext, "
            f"{_num(cpu('Mb'), 1)} → {_num(cpu('M'), 1)} µs mTLS."
        )
    m1 = ratio("P1", "M1")
    if m1 is not None:
        out.append(
            f"- **A handshake per request (P1 vs M1, H3).** With `maxRequestsPerConnection: 1` "
            f"the mTLS hop keeps {m1:.0%} of the plaintext hop's requests/s and adds "
            f"{_num(added('P1', 'M1', 'p50_us'))} µs at p50; CPU per request "
            f"{_num(cpu('P1'), 1)} µs (P1) vs {_num(cpu('M1'), 1)} µs (M1). The outbound sidecar "
            "does not resume sessions (asyncio's `create_connection` takes no `session=`), so "
            "every M1 request pays a full handshake with certificate verification on both sides."
        )
    h0, h1, h2 = (_of(conns, "kind", k) for k in ("H0", "H1", "H2"))
    if h1 and h2:
        full = _median([r["in_cpu_us"] for r in h1])
        res = _median([r["in_cpu_us"] for r in h2])
        t1 = _median([r["total_us"] for r in h1])
        t2 = _median([r["total_us"] for r in h2])
        t0 = _median([r["total_us"] for r in h0]) if h0 else None
        resumed = sum(r["reused"] for r in h2)
        total = sum(r["connections"] for r in h2)
        text = (
            f"- **Resumption (H1 vs H2).** The inbound sidecar resumed {resumed} of {total} "
            f"offered tickets. A new connection plus one request takes {_num(t1)} µs with a "
            f"full handshake and {_num(t2)} µs resumed"
        )
        if t0 is not None:
            text += f" ({_num(t0)} µs in plaintext, H0)"
        text += (
            f"; the inbound sidecar spends {_num(full)} µs of CPU per full handshake and "
            f"{_num(res)} µs per resumed one."
        )
        if full and res:
            text += f" Resumption saves {1 - res / full:.0%} of the server's CPU per connection."
        out.append(text)
    o1, o2 = _of(mem, "kind", "O1"), _of(mem, "kind", "O2")
    if o1 and o2:
        h0_cpu = _median([r["in_cpu_us"] for r in h0]) if h0 else None
        out.append(
            "- **Where a handshake's CPU goes (O1, O2).** OpenSSL alone, with the same "
            f"contexts and no sockets, spends {_num(_median([r['client_cpu_us'] for r in o1]))} "
            f"µs (client) + {_num(_median([r['server_cpu_us'] for r in o1]))} µs (server) on a "
            f"full handshake and {_num(_median([r['client_cpu_us'] for r in o2]))} + "
            f"{_num(_median([r['server_cpu_us'] for r in o2]))} µs on a resumed one. The rest "
            "of a sidecar's CPU per new connection is the connection itself (accept or "
            "connect, the event loop's TLS transport, the request): "
            f"{_num(h0_cpu)} µs on the inbound side for a plaintext one (H0)."
        )
    return out


def _peers(peers: dict[str, str | None] | None) -> list[str]:
    if not peers:
        return []
    shown = {k: f"`{v}`" if v else "none (plaintext)" for k, v in peers.items()}
    return [
        f"Checked in the first round, right after each hop's load: the last request P's "
        f"inbound sidecar logged carried peer identity {shown.get('P')}, M's {shown.get('M')}.",
        "",
    ]


def render(raw: dict[str, Any]) -> str:
    m = raw["machine"]
    a = raw["args"]
    hops: list[Row] = raw["hops"]
    conns: list[Row] = raw["connections"]
    mem: list[Row] = raw.get("in_memory", [])
    command = (
        f".venv/bin/python bench/mtls/run.py --runs {a['runs']} --seconds {a['seconds']} "
        f"--rate {a['rate']} --fresh-rate {a['fresh_rate']} --handshakes {a['handshakes']}"
        + (f" --before {a['before']}" if a.get("before") not in (None, "None") else "")
    )
    loads = [r["loadavg"] for r in hops + conns]
    steals = [r["steal_percent"] for r in hops + conns]
    parts = [
        "# The mesh hop through meshproxy sidecars: plaintext vs mTLS; handshake cost",
        "",
        "Generated by `bench/mtls/run.py` (do not edit by hand; `--render results.json` redoes "
        "it). Rerun from the repository root:",
        "",
        f"    {command}",
        "",
        "## What was measured, and how",
        "",
        "Real `meshproxy` processes on 127.0.0.1, one process each, the proxy package as "
        f"committed at `{m['commit']}` (`--source {m['source']}`)"
        + (", its hot modules compiled by mypyc" if m.get("compiled") else ", pure Python")
        + (
            f"; Pb and Mb run the `--before` revision `{m['before']}` in pure Python"
            if m.get("before")
            else ""
        )
        + ":",
        "",
        "    client ─▶ outbound sidecar (role outbound) ─▶ inbound sidecar (role inbound) ─▶ app",
        "",
        "The app is nginx (one worker, `return 200` with a ~100-byte body, access log off). "
        "Both sidecars run with their identities (ECDSA P-256 certificates issued by "
        "`meshgate.certs`, SPIFFE IDs `sa/frontend` and `sa/backend`), default layers and an "
        "access log to a file. Only the hop between the sidecars differs:",
        "",
        "- **P**: cluster `tls.mode: DISABLE` to the inbound port; inbound PeerAuthentication "
        "DISABLE (target port from `Host`).",
        "- **M**: cluster `tls.mode: MESH` (TLS 1.3, client certificate, peer SPIFFE ID "
        "checked against `expectedIdentities`); inbound STRICT.",
        "- **P1 / M1 (H3)**: P and M with `connectionPool.maxRequestsPerConnection: 1`, so every "
        "request opens a new upstream connection (M1: a full mTLS handshake per request). "
        "They share P's and M's inbound sidecars.",
        "",
        "Rounds interleave (Pb, Mb,) P, M, P1, M1, then H0, H1, H2, O1, O2, "
        f"{a['runs']} rounds in one run. Per hop and round: requests/s at saturation "
        f"(`wrk -t1 -c32 -d{float(a['seconds']):g}s`, keep-alive, after a 1 s warm-up); p50/p99 "
        f"from `bench/proxy/paced.py` (through `paced_host.py`, which only sets `Host`) at a "
        f"fixed {a['rate']} req/s for P/M and {a['fresh_rate']} req/s for P1/M1, 16 "
        f"connections, {a['paced_seconds']} s, latency counted from the schedule; CPU per "
        "request of each sidecar from `/proc/<pid>/stat` over the wrk run. H0–H2 open "
        f"connections straight to an inbound sidecar one after another (up to {a['handshakes']} "
        f"or {a['handshake_seconds']} s per loop), each carrying one GET to the app: H0 "
        "plaintext to P's inbound; H1 TLS with the sidecar's own client context "
        "(`mesh_client_context`, the `sa/frontend` certificate) to M's inbound, no session "
        "offered; H2 the same, offering the previous connection's TLS 1.3 ticket "
        "(`wrap_socket(session=...)`, `session_reused` counted). The handshake column is the "
        "client's view (until it sent Finished); the server verifies the client certificate "
        "after that, so that cost shows in the connection + request column and in the inbound "
        "sidecar's CPU per connection. O1/O2 repeat H1/H2 between two in-memory TLS objects "
        "(`SSLContext.wrap_bio`) with the outbound sidecar's client context and a STRICT inbound "
        "sidecar's server context, timing each side's CPU (`time.thread_time`): OpenSSL's share "
        "of a handshake, without sockets or event loop.",
        "",
        *_peers(raw.get("peer_identity")),
        "## Machine and load",
        "",
        f"{m['nproc']} cores ({m['cpu']}), kernel {m['kernel']}, Python {m['python']}, "
        f"{m['openssl']}, uvloop {m['uvloop']}, {m['wrk']}, {m['nginx']}; {m['date']}, "
        f"{m['seconds']} s. The machine is shared: load average "
        f"{' '.join(m['loadavg_start'])} at the start and {' '.join(m['loadavg_end'])} at the "
        f"end, {_spread(loads, 2)} (1 min) across the measurements, steal "
        f"{_spread(steals, 2)} %. Other work ran beside this benchmark; read the figures as "
        "comparisons within the run, not as capacities. The load generators run on the same "
        "two cores as the four processes they measure.",
        "",
        "## Results",
        "",
        "Medians over rounds, (min–max) across rounds.",
        "",
        *_hop_table(hops),
        "",
        *_comparisons(hops),
        "",
        *_conn_table(conns),
        "",
        *_memory_table(mem),
        "",
        "## Reading",
        "",
        *_findings(hops, conns, mem),
        "",
        "## Every measurement",
        "",
        *_runs_table(hops, conns),
        "",
    ]
    return "\n".join(parts)
