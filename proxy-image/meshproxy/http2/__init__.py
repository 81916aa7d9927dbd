"""The HTTP/2 codec: the `h2` library's events turned into the proxy's `Request`/`Response`
objects and back, the stream flow control both ways, gRPC's status and deadline rules, and the
per-connection budgets that keep a client from making the proxy work for nothing.

The connection protocols that drive it are `server.h2connection` (clients) and
`upstream.h2connection` (upstreams), as `http1` is driven by `server.protocol` and
`upstream.connection`. Nothing here reads or writes a socket.
"""
