"""A small asyncio Redis client: one pipelined RESP2 connection, scripts, timeouts, reconnects.

Only what the global rate limiter needs: connect (TCP, or TLS for `rediss://`), AUTH, SELECT,
PING, SCRIPT LOAD and EVALSHA with an EVAL fallback on NOSCRIPT. Concurrent commands share one
connection and are answered in order (RESP replies are FIFO), so no lock and no pool.

Every command is bounded by a timeout. While the connection is down, commands fail at once with
`RedisUnavailable` -- except while a connection attempt is in flight, which a command awaits
within its own timeout -- and a background task redials with capped, jittered exponential
back-off. A connection whose oldest command has waited several timeouts is dropped and redialled
rather than trusted: a server that stopped answering must not collect an unbounded backlog.

This module must never log or put in an exception message a password or a URL carrying one,
and must never block a caller longer than that caller's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import ssl as ssl_module
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "RedisClient",
    "RedisError",
    "RedisReplyError",
    "RedisUnavailable",
    "Reply",
    "Script",
]

Reply = bytes | str | int | list["Reply"] | None
Arg = bytes | str | int | float

MAX_BULK = 4 * 1024 * 1024  # no reply this proxy asks for is near this
MAX_WRITE_BACKLOG = 1024 * 1024
MAX_PENDING = 10_000


class RedisError(Exception):
    """Base of every error this client raises."""


class RedisUnavailable(RedisError):
    """No answer: not connected, connection lost, refused, or too slow."""


class RedisReplyError(RedisError):
    """The server answered with an error (`-ERR ...`, `-NOSCRIPT ...`)."""

    @property
    def code(self) -> str:
        return str(self).split(" ", 1)[0]


class _ProtocolError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Script:
    source: str
    sha: str


def encode_command(args: Sequence[Arg]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode("utf-8")
        elif isinstance(arg, bool):
            raise TypeError("bool is not a Redis argument")
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = repr(float(arg)).encode("ascii")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def read_reply(reader: asyncio.StreamReader) -> Reply | RedisReplyError:
    line = await reader.readuntil(b"\r\n")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode("utf-8", "replace")
    if kind == b"-":
        return RedisReplyError(body.decode("utf-8", "replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        if size > MAX_BULK:
            raise _ProtocolError("bulk reply too large")
        data = await reader.readexactly(size + 2)
        return data[:-2]
    if kind == b"*":
        count = int(body)
        if count < 0:
            return None
        if count > MAX_BULK:
            raise _ProtocolError("array reply too large")
        items: list[Reply] = []
        for _ in range(count):
            item = await read_reply(reader)
            if isinstance(item, RedisReplyError):
                raise _ProtocolError("error inside an array")  # only EXEC does that; unused
            items.append(item)
        return items
    raise _ProtocolError("unknown reply type")


class _Connection:
    """One socket: commands written in order, replies matched to them in order."""

    __slots__ = (
        "_on_lost",
        "_pending",
        "_reader",
        "_task",
        "_writer",
        "closed",
        "last_reply_at",
    )

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_lost: Callable[[_Connection], None],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_lost = on_lost
        loop = asyncio.get_running_loop()
        self._pending: deque[tuple[asyncio.Future[Reply], float]] = deque()
        self.closed = False
        self.last_reply_at = loop.time()
        self._task = loop.create_task(self._read_loop())

    def send(self, args: Sequence[Arg]) -> asyncio.Future[Reply]:
        if self.closed:
            raise RedisUnavailable("connection closed")
        transport = self._writer.transport
        if (
            len(self._pending) >= MAX_PENDING
            or transport.get_write_buffer_size() > MAX_WRITE_BACKLOG
        ):
            raise RedisUnavailable("too many commands waiting")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._writer.write(encode_command(args))
        self._pending.append((future, loop.time()))
        return future

    def oldest_wait(self, now: float) -> float:
        """How long the oldest unanswered command has waited since the last reply."""
        if not self._pending:
            return 0.0
        return now - max(self._pending[0][1], self.last_reply_at)

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                reply = await read_reply(self._reader)
                self.last_reply_at = loop.time()
                if not self._pending:
                    raise _ProtocolError("reply without a command")
                future, _ = self._pending.popleft()
                if future.done():  # its caller timed out; the reply still had to be consumed
                    continue
                if isinstance(reply, RedisReplyError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self._fail("connection lost")
        except (_ProtocolError, ValueError):
            self._fail("protocol error")
        except asyncio.CancelledError:
            self._fail("connection closed")
            raise

    def _fail(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(RedisUnavailable(why))
        self._writer.close()
        self._on_lost(self)

    def abort(self) -> None:
        if not self.closed:
            self._task.cancel()
            self._fail("connection dropped")


class RedisClient:
    """A client for one Redis server. Create it inside the running event loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = 0.1,
        connect_timeout: float = 1.0,
        min_backoff: float = 0.05,
        max_backoff: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._db = db
        self._ssl = ssl
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._conn: _Connection | None = None
        self._dialer: asyncio.Task[None] | None = None
        self._attempt: asyncio.Future[None] | None = None  # set while a dial is in flight
        self._scripts: dict[str, Script] = {}
        self._closed = False
        self.connects = 0  # successful connections so far, for metrics and tests
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"RedisClient({self.host}:{self.port}, db={self._db})"

    @classmethod
    def from_url(cls, url: str, **options: float) -> RedisClient:
        """`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS with the
        system trust store. Errors never repeat the URL: it may hold a password."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or 6379
        except ValueError:
            raise ValueError("Redis URL is malformed") from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("Redis URL must be redis://host[:port][/db] or rediss://...")
        db_text = parts.path.lstrip("/")
        if db_text and not db_text.isdigit():
            raise ValueError("Redis URL database must be a number")
        return cls(
            parts.hostname,
            port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            db=int(db_text or 0),
            ssl=ssl_module.create_default_context() if parts.scheme == "rediss" else None,
            **options,
        )

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def register_script(self, source: str) -> Script:
        """A script this client loads on every (re)connect and runs by its SHA1."""
        sha = hashlib.sha1(source.encode("utf-8"), usedforsecurity=False).hexdigest()
        script = Script(source, sha)
        self._scripts[sha] = script
        return script

    async def execute(self, *args: Arg, within: float | None = None) -> Reply:
        """Send one command; its reply within `within` seconds (default `timeout`), or
        RedisReplyError / RedisUnavailable."""
        loop = asyncio.get_running_loop()
        budget = self.timeout if within is None else within
        deadline = loop.time() + budget
        conn = await self._connection(deadline)
        future = conn.send(args)
        try:
            return await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
        except TimeoutError:
            # The reply may still come and is then discarded. A server silent for several
            # timeouts is treated as gone, so the backlog stays bounded and we redial.
            if conn.oldest_wait(loop.time()) > max(1.0, 4 * budget):
                self._lost(conn, "server stopped answering")
            raise RedisUnavailable("timed out") from None

    async def ping(self, within: float | None = None) -> bool:
        return await self.execute("PING", within=within) == "PONG"

    async def script_load(self, source: str, within: float | None = None) -> str:
        reply = await self.execute("SCRIPT", "LOAD", source, within=within)
        if not isinstance(reply, bytes):
            raise RedisReplyError("ERR unexpected SCRIPT LOAD reply")
        return reply.decode("ascii")

    async def run_script(
        self,
        script: Script,
        keys: Sequence[Arg],
        args: Sequence[Arg],
        within: float | None = None,
    ) -> Reply:
        """EVALSHA, or EVAL when the server has lost the script (restart, SCRIPT FLUSH)."""
        loop = asyncio.get_running_loop()
        budget = self.timeout if within is None else within
        deadline = loop.time() + budget
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args, within=budget)
        except RedisReplyError as exc:
            if exc.code != "NOSCRIPT":
                raise
        remaining = max(0.0, deadline - loop.time())
        return await self.execute("EVAL", script.source, len(keys), *keys, *args, within=remaining)

    async def wait_connected(self, within: float) -> bool:
        """Wait up to `within` seconds for a connection (at start-up, say); True if one is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self.connected and not self._closed:
            self._ensure_dialer()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            attempt = self._attempt
            if attempt is not None:
                with contextlib.suppress(TimeoutError, RedisError):
                    await asyncio.wait_for(asyncio.shield(attempt), remaining)
            else:
                await asyncio.sleep(min(remaining, 0.02))
        return self.connected

    async def close(self) -> None:
        self._closed = True
        if self._dialer is not None:
            self._dialer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dialer
        if self._conn is not None:
            self._conn.abort()
            self._conn = None

    # --- connection management --------------------------------------------------------------

    async def _connection(self, deadline: float) -> _Connection:
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        if self._closed:
            raise RedisUnavailable("client closed")
        self._ensure_dialer()
        attempt = self._attempt
        if attempt is None:  # backing off between attempts: answer now, not later
            raise RedisUnavailable("not connected")
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(asyncio.shield(attempt), max(0.0, remaining))
        except TimeoutError:
            raise RedisUnavailable("connecting") from None
        except RedisError:
            raise RedisUnavailable("not connected") from None
        conn = self._conn
        if conn is None or conn.closed:
            raise RedisUnavailable("not connected")
        return conn

    def _lost(self, conn: _Connection, why: str) -> None:
        self.last_error = why
        conn.abort()  # calls _on_connection_lost

    def _on_connection_lost(self, conn: _Connection) -> None:
        # Redial at once in the background, so the first request after an outage finds the
        # connection up rather than paying for the dial.
        if self._conn is conn:
            self._conn = None
            self._ensure_dialer()

    def _ensure_dialer(self) -> None:
        if self._closed:
            return
        if self._conn is not None and self._conn.closed:
            self._conn = None
        if self._conn is None and (self._dialer is None or self._dialer.done()):
            loop = asyncio.get_running_loop()
            self._attempt = loop.create_future()
            self._dialer = loop.create_task(self._dial_until_connected())

    async def _dial_until_connected(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._min_backoff
        while not self._closed:
            attempt = self._attempt
            if attempt is None or attempt.done():
                attempt = self._attempt = loop.create_future()
            try:
                conn = await asyncio.wait_for(self._open(), self.connect_timeout)
            except (OSError, TimeoutError, RedisError, _ProtocolError, ValueError) as exc:
                self.last_error = _describe(exc)
                self._attempt = None
                if not attempt.done():
                    attempt.set_exception(RedisUnavailable("connect failed"))
                    attempt.exception()  # retrieved: nobody may be waiting on it
                # Jitter spreads the replicas' redials after a shared Redis restart.
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311
                backoff = min(self._max_backoff, backoff * 2)
                continue
            self._conn = conn
            self.connects += 1
            self.last_error = None
            self._attempt = None
            if not attempt.done():
                attempt.set_result(None)
            return

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self._ssl, limit=MAX_BULK
        )
        conn = _Connection(reader, writer, self._on_connection_lost)
        try:
            if self._password is not None:
                auth: list[Arg] = ["AUTH", self._password]
                if self._username is not None:
                    auth.insert(1, self._username)
                await conn.send(auth)
            if self._db:
                await conn.send(["SELECT", self._db])
            for script in list(self._scripts.values()):
                loaded = await conn.send(["SCRIPT", "LOAD", script.source])
                if isinstance(loaded, bytes) and loaded.decode("ascii") != script.sha:
                    raise _ProtocolError("script digest mismatch")
        except BaseException:
            conn.abort()
            raise
        return conn


def _describe(exc: BaseException) -> str:
    # Reply errors from AUTH say "WRONGPASS ..." without the password; OS errors name the
    # address only. Still, keep it to the class and first words.
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    if isinstance(exc, RedisReplyError):
        return f"server refused: {exc.code}"
    return f"{type(exc).__name__}: {exc}"[:200]
