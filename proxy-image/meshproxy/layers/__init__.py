"""The request path, one layer per file; `meshproxy.stack` puts them in order.

A layer is an object with `async def handle(exchange) -> Response` that wraps the next layer's
`handle`. A short circuit (403, 404, 429, a local reply) returns without calling the next one.
A layer that a listener or route does not configure is not built into its chain at all.
"""

from collections.abc import Awaitable, Callable

from meshproxy.http.message import Exchange, Response

Handler = Callable[[Exchange], Awaitable[Response]]
