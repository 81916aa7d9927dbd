"""Edge authentication and rate limits, as built at config load for `layers.authn` and
`layers.ratelimit`: who a request is (`principal`), how its credentials are checked
(`apikey_method`, `jwt_method`, `authenticator`), which bucket it draws from (`rate_key`,
`limits`), and the few things that outlive one request (`watched_file`, `resources`).

Nothing here runs per request except the checks and the bucket arithmetic; everything with a
background life (file watches, JWKS fetches, Redis connections) is owned by `EdgeResources` and
closed when the config that made it is retired.
"""
