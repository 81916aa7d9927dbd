"""The one error type of `meshgate.certs`.

Messages say what is wrong and what to do; they never quote key material, so callers may put
them into logs, Events and status conditions as they are.
"""


class CertError(ValueError):
    """Certificate or key material cannot be used; the message says why."""
