"""The proxy's pure decisions: path normalisation, routing, balancing, retries, limits, ...

Every module here compiles config models into runtime objects once, at config load, and then
answers per-request questions from them. Nothing here may do I/O, touch asyncio, read the clock,
draw random numbers or keep global mutable state: time and randomness are passed in, so every
decision is deterministic under test. The runtime (server, pool, layers) owns all the effects.
"""
