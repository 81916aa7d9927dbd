"""Global rate limits: token buckets shared by every gateway replica through Redis.

`redis_client` speaks just enough RESP2 to run a script; `global_limiter` holds the bucket script
and decides what a request gets when Redis cannot answer in time. Local (per proxy) buckets are
`meshproxy.policy.ratelimit`'s.
"""
