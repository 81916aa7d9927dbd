"""gRPC between two meshed workloads: a grpcio client calls its outbound sidecar (h2c), which
speaks HTTP/2 over mTLS (ALPN h2) to the server's inbound sidecar, which speaks HTTP/2 to the
grpcio server. All four call kinds pass, and the server learns the caller's SPIFFE identity
from the verified certificate, never from what the caller wrote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_apps import EchoClient, GrpcServer
from mesh_e2e import Mesh, MeshProxy, SecretVolume, inbound_sidecar, outbound_sidecar, spiffe
from meshproxy_e2e import free_port, wait_until


def test_four_call_kinds_pass_sidecar_to_sidecar_and_the_server_sees_the_verified_caller(
    mesh: Mesh, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    server = GrpcServer("127.0.0.1", free_port())
    backend_volume, frontend_volume = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend_volume.write(mesh.issue(sa="backend"))
    frontend_volume.write(mesh.issue(sa="frontend"))
    inbound_port, outbound_port = free_port(), free_port()
    try:
        inbound = proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [server.port]))
        outbound = proxies(
            "outbound",
            outbound_sidecar(
                frontend_volume,
                outbound_port,
                server.port,
                inbound_port,
                [spiffe("shop", "backend")],
                protocol="HTTP2",
            ),
        )
        client = EchoClient(f"127.0.0.1:{outbound_port}", authority="backend.shop")
        forged = (("x-meshgate-peer-identity", spiffe("kube-system", "admin")),)
        try:
            assert client.unary(b"hi", timeout=10, metadata=forged) == b"echo:hi"
            assert list(client.server_stream(b"3", timeout=10)) == [
                b"message 0",
                b"message 1",
                b"message 2",
            ]
            assert client.client_stream(iter([b"ab"] * 10), timeout=10) == b"10 messages, 20 bytes"
            assert list(client.bidi(iter([b"x", b"y"]), timeout=10)) == [b"echo:x", b"echo:y"]
        except grpc.RpcError as failed:
            raise AssertionError(f"{failed}\n{outbound.output()}\n{inbound.output()}") from None
        finally:
            client.close()
        assert server.observed.identities == [spiffe("shop", "frontend")]

        # HTTP/2 all the way: the mesh hop and the hop to the app.
        def lines() -> list[dict[str, str]]:
            return [x for x in inbound.access_lines() if x.get("listener") == "inbound"]

        wait_until(lambda: len(lines()) >= 4, 10, "the inbound sidecar's access lines")
        assert {x["protocol"] for x in lines()} == {"HTTP/2"}
        assert {x["peer_identity"] for x in lines()} == {spiffe("shop", "frontend")}
        assert outbound.metric("meshproxy_grpc_requests_total", grpc_status="0") == 4
    finally:
        server.stop()
