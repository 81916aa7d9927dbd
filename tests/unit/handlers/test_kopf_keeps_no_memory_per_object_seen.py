"""kopf keeps a ~1 KiB memory for every object it ever saw (12 MiB at 10,000 Routes) for handler
kinds that need it across events; the operator registers none of them, so each event gets a
fresh memory and none is kept."""

from __future__ import annotations

import json
import subprocess
import sys

from meshgate.handlers.operator import EventMemories


async def test_every_event_gets_a_fresh_memory_and_none_is_kept() -> None:
    memories = EventMemories()
    body = {"metadata": {"uid": "u-1", "name": "r", "namespace": "shop"}}
    first = await memories.recall(body, noticed_by_listing=True)  # type: ignore[arg-type]
    again = await memories.recall(body)  # type: ignore[arg-type]
    assert first is not again
    assert list(memories.iter_all_memories()) == []


REGISTERED = """
import json, sys
sys.modules["kubernetes"] = None
import kopf
from meshgate.handlers.operator import register, serve
from meshgate.kube.credentials import Credentials
from meshgate.kube.rest import Rest
from meshgate.settings import Settings

settings = Settings(injection_enabled=True, peering=True, gateway_api=True)
served = serve(settings, Rest(Credentials(server="http://fake.invalid")),
               ("routing", "identity", "injection"))
register(served)
registry = kopf.get_default_registry()
print(json.dumps({name: len(getattr(registry, name).get_all_handlers())
                  for name in ("_watching", "_webhooks", "_activities",
                               "_changing", "_spawning", "_indexing")}))
"""


def test_no_registered_handler_needs_what_kopf_would_remember() -> None:
    done = subprocess.run(
        [sys.executable, "-c", REGISTERED], capture_output=True, text=True, timeout=60, check=True
    )
    counts = json.loads(done.stdout.splitlines()[-1])
    assert min(counts["_watching"], counts["_webhooks"], counts["_activities"]) > 0
    # Change detection (on.create/update/resume ...), daemons and timers, indexes: none.
    assert (counts["_changing"], counts["_spawning"], counts["_indexing"]) == (0, 0, 0)
