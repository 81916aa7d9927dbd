"""The proxy's TLS building blocks: contexts, peer identity, hot reload, certificate expiry.

Standard library `ssl` only: the proxy image carries no `cryptography`. Nothing here opens a
listener or decides routing; the runtime wires these pieces into its servers and pools.
"""
