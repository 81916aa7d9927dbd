"""What a client may cost the proxy, and what the proxy does when it is past what it can serve.

Each listener resolves its limits once, at config load (`settings`); its connections count
themselves in and out of one `guard.ListenerGuard`, which answers admit/refuse with integer
compares only. The memory ceiling is sampled on a timer (`memory`), never per request. Every
limit that fires is counted in `meshproxy_limit_hits_total{listener,limit}` and written to the
access log.

Nothing here parses HTTP or touches a socket; the connection (`server.protocol`) does what the
guard decides.
"""
