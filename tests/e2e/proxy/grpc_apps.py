"""A gRPC test service served by grpcio, and a client for it, with raw-bytes messages.

No protobuf: each method takes and returns bytes (grpcio's generic handlers with no
serializers), which is all a proxy test needs to see. The four call kinds:
- `Unary`: answers `echo:` + the request, and records the caller's `x-meshgate-peer-identity`
  and metadata;
- `ServerStream`: N messages (N is the request, as text), one per 10 ms;
- `ClientStream`: the count and total size of what it received;
- `Bidi`: echoes each message as it arrives.
`Flaky` fails a share of calls with UNAVAILABLE; `Slow` sleeps the request's seconds.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc

SERVICE = "meshgate.test.Echo"


@dataclass
class Observed:
    calls: int = 0
    active: int = 0  # `Slow` calls in progress, and the most there ever were
    most_active: int = 0
    identities: list[str] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)  # each `Unary` call's
    lock: threading.Lock = field(default_factory=threading.Lock)


def _metadata(context: grpc.ServicerContext, name: str) -> str:
    for key, value in context.invocation_metadata():
        if key == name:
            return str(value)
    return ""


def _handlers(observed: Observed, fail_ratio: float) -> grpc.GenericRpcHandler:
    def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
        with observed.lock:
            observed.calls += 1
            observed.identities.append(_metadata(context, "x-meshgate-peer-identity"))
            observed.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        return b"echo:" + request

    def server_stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        for i in range(int(request)):
            time.sleep(0.01)
            yield b"message %d" % i

    def client_stream(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        count = size = 0
        for message in requests:
            count += 1
            size += len(message)
        return b"%d messages, %d bytes" % (count, size)

    def bidi(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        for message in requests:
            yield b"echo:" + message

    def flaky(request: bytes, context: grpc.ServicerContext) -> bytes:
        with observed.lock:
            observed.calls += 1
        if random.random() < fail_ratio:
            context.abort(grpc.StatusCode.UNAVAILABLE, "flaky")
        return b"ok"

    def slow(request: bytes, context: grpc.ServicerContext) -> bytes:
        with observed.lock:
            observed.active += 1
            observed.most_active = max(observed.most_active, observed.active)
        time.sleep(float(request))
        with observed.lock:
            observed.active -= 1
        return b"late"

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
            "Flaky": grpc.unary_unary_rpc_method_handler(flaky),
            "Slow": grpc.unary_unary_rpc_method_handler(slow),
        },
    )


class GrpcServer:
    """The service on `address:port`, plaintext (h2c), in this process's threads."""

    def __init__(self, address: str, port: int, fail_ratio: float = 0.0) -> None:
        self.port = port
        self.observed = Observed()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.server.add_generic_rpc_handlers((_handlers(self.observed, fail_ratio),))
        bound = self.server.add_insecure_port(f"{address}:{port}")
        assert bound == port
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)


class EchoClient:
    """Calls the service through `target` (host:port) on one channel."""

    def __init__(self, target: str, authority: str = "app.test") -> None:
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.default_authority", authority)]
        )
        path = f"/{SERVICE}/"
        self.unary = self.channel.unary_unary(path + "Unary")
        self.server_stream = self.channel.unary_stream(path + "ServerStream")
        self.client_stream = self.channel.stream_unary(path + "ClientStream")
        self.bidi = self.channel.stream_stream(path + "Bidi")
        self.flaky = self.channel.unary_unary(path + "Flaky")
        self.slow = self.channel.unary_unary(path + "Slow")

    def close(self) -> None:
        self.channel.close()
