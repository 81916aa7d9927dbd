"""When slowhttptest's slowloris follow-up lines arrive: reads per second and per 10 ms.

    .venv/bin/python bench/hostile/slowloris_bursts.py 10000

A plain asyncio server on loopback counts the reads it gets per 10 ms bucket while slowhttptest
(`-H -r 1000 -i 5 -x 24`, as the e2e test) holds N connections; the 8 s after the first 15 s
(the ramp) are printed. Spread over the interval, each second would carry N / 5 reads; sent to
every connection at once, one second in five carries them all.
"""

from __future__ import annotations

import asyncio
import collections
import json
import resource
import subprocess
import sys
import time

SECONDS = 25
buckets: collections.Counter[int] = collections.Counter()


class _Count(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        buckets[int(time.monotonic() * 100)] += 1


async def main(held: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Count, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    argv = ["/usr/bin/slowhttptest", "-H", "-c", str(held), "-r", "1000", "-i", "5", "-x", "24",
            "-l", str(SECONDS), "-u", f"http://127.0.0.1:{port}/"]  # fmt: skip
    attacker = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await asyncio.sleep(SECONDS)
    attacker.terminate()
    await asyncio.wait_for(attacker.wait(), 30)
    server.close()
    start = min(buckets) + 1500
    window = [buckets.get(b, 0) for b in range(start, start + 800)]
    mean = sum(window) / len(window)
    print(json.dumps({"reads_per_s": [sum(window[i : i + 100]) for i in range(0, 800, 100)],
                      "max_per_10ms": max(window), "mean_per_10ms": round(mean, 1)}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
