"""Edge authentication I/O: what the pure verifiers in `meshproxy.policy` need from outside
(remote JWKS documents), fetched in the background so no request ever waits on it."""
