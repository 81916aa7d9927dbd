"""Push delivery: every operator replica serves each proxy its config over mTLS, long polled.

The ConfigMaps stay the persisted source of truth: each replica (active or standby) watches the
generated ConfigMaps and serves what they hold, so any replica may answer any proxy, and a proxy
whose replica is gone keeps its config and asks another. See docs/architecture.md.
"""
