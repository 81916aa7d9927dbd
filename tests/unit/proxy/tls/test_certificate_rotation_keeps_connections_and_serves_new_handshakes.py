"""Hot reload of a workload's certificate files, laid out and swapped the way kubelet does it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from pathlib import Path

import pytest
from tls_harness import Mesh, Refused, ask, inbound

from meshgate.certs.ca import create_root_ca
from meshgate.certs.workload import IssuedCertificate
from meshproxy.config import Identity
from meshproxy.tls.reload import ReloadingIdentity


class KubeletVolume:
    """`<dir>/tls.crt -> ..data/tls.crt`, `..data -> ..<version>`; an update swaps `..data`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0
        root.mkdir(parents=True, exist_ok=True)

    def publish(self, cert_pem: str, key_pem: str, ca_pem: str) -> None:
        self.version += 1
        target = self.root / f"..v{self.version}"
        target.mkdir()
        for name, text in (("tls.crt", cert_pem), ("tls.key", key_pem), ("ca.crt", ca_pem)):
            (target / name).write_text(text)
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(Path("..data") / name)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(target.name)
        os.replace(tmp, self.root / "..data")  # the atomic step

    def identity(self) -> Identity:
        return Identity(
            cert_file=str(self.root / "tls.crt"),
            key_file=str(self.root / "tls.key"),
            ca_file=str(self.root / "ca.crt"),
        )


def _publish(volume: KubeletVolume, issued: IssuedCertificate, ca_pem: str | None = None) -> None:
    volume.publish(issued.cert_pem, issued.key_pem, ca_pem or issued.ca_bundle_pem)


def _fingerprint(writer: asyncio.StreamWriter) -> str:
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest()


def _pem_fingerprint(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


async def _line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, msg: str) -> str:
    writer.write(msg.encode() + b"\n")
    await writer.drain()
    async with asyncio.timeout(5):
        return (await reader.readline()).decode().strip()


async def test_open_connection_survives_a_rotation_and_new_ones_get_the_new_cert(
    mesh: Mesh, tmp_path: Path
) -> None:
    server_vol, client_vol = KubeletVolume(tmp_path / "srv"), KubeletVolume(tmp_path / "cli")
    first, second = mesh.issue(sa="backend"), mesh.issue(sa="backend")
    _publish(server_vol, first)
    _publish(client_vol, mesh.issue())
    server, client = (
        ReloadingIdentity(server_vol.identity()),
        ReloadingIdentity(client_vol.identity()),
    )
    async with inbound(lambda: server.server_switch(True).outer, "STRICT") as port:
        reader, old = await asyncio.open_connection(
            "127.0.0.1", port.port, ssl=client.client_context()
        )
        assert _fingerprint(old) == _pem_fingerprint(first.cert_pem)

        _publish(server_vol, second)
        assert server.poll() == "reloaded"

        # The connection opened before the swap keeps working, on the certificate it started with.
        assert (await _line(reader, old, "still here")).endswith("still here")
        assert _fingerprint(old) == _pem_fingerprint(first.cert_pem)
        _, new = await asyncio.open_connection("127.0.0.1", port.port, ssl=client.client_context())
        assert _fingerprint(new) == _pem_fingerprint(second.cert_pem)
        old.close()
        new.close()


async def test_unchanged_files_are_not_reloaded_and_a_broken_pair_keeps_the_old_context(
    mesh: Mesh, tmp_path: Path
) -> None:
    vol = KubeletVolume(tmp_path / "srv")
    good = mesh.issue(sa="backend")
    _publish(vol, good)
    server = ReloadingIdentity(vol.identity())
    switch = server.server_switch(True)
    before = switch.current
    assert server.poll() == "unchanged"

    other = mesh.issue(sa="backend")
    vol.publish(good.cert_pem, other.key_pem, good.ca_bundle_pem)  # key of another cert
    assert server.poll() == "failed"
    assert switch.current is before
    assert server.stats.last_error is not None
    assert "PRIVATE" not in server.stats.last_error
    assert other.key_pem.splitlines()[1] not in server.stats.last_error

    _publish(vol, other)
    assert server.poll() == "reloaded"
    assert switch.current is not before
    assert server.stats.last_error is None


async def test_a_ca_rotation_with_an_overlapping_bundle_never_breaks_a_handshake(
    mesh: Mesh, tmp_path: Path
) -> None:
    """Step 1 both roots everywhere; step 2 new leaves; step 3 drop the old root."""
    from datetime import UTC, datetime

    from meshgate.certs.workload import issue_workload_certificate

    new_ca = create_root_ca("cluster.local", datetime.now(UTC))
    overlap = mesh.bundle.with_root(new_ca.cert)
    srv_vol, cli_vol = KubeletVolume(tmp_path / "srv"), KubeletVolume(tmp_path / "cli")
    _publish(srv_vol, mesh.issue(sa="backend"))
    _publish(cli_vol, mesh.issue())
    server, client = ReloadingIdentity(srv_vol.identity()), ReloadingIdentity(cli_vol.identity())

    def new_leaf(sa: str, bundle_pem: str) -> tuple[str, str, str]:
        got = issue_workload_certificate(
            new_ca,
            overlap,
            trust_domain="cluster.local",
            namespace="shop",
            service_account=sa,
            now=datetime.now(UTC),
        )
        return got.cert_pem, got.key_pem, bundle_pem

    async with inbound(lambda: server.server_switch(True).outer, "STRICT") as port:
        old_client_ctx = client.client_context()
        # Step 1 + 2 on the server only: the client still holds an old-CA leaf and old bundle
        # plus the new root, the server already presents a new-CA leaf.
        srv_vol.publish(*new_leaf("backend", overlap.to_pem()))
        cli_vol.publish(
            (tmp_path / "cli" / "tls.crt").read_text(),
            (tmp_path / "cli" / "tls.key").read_text(),
            overlap.to_pem(),
        )
        assert server.poll() == "reloaded"
        assert client.poll() == "reloaded"
        assert (await ask(port.port, client.client_context())).endswith("ping")

        # Step 3: the old root leaves the server's bundle; an old-CA client is now refused.
        final = overlap.without_root(mesh.ca.cert).to_pem()
        srv_vol.publish(
            (tmp_path / "srv" / "tls.crt").read_text(),
            (tmp_path / "srv" / "tls.key").read_text(),
            final,
        )
        assert server.poll() == "reloaded"
        with pytest.raises(Refused):
            await ask(port.port, client.client_context())
        with pytest.raises(Refused):
            await ask(port.port, old_client_ctx)
        cli_vol.publish(*new_leaf("frontend", final))
        assert client.poll() == "reloaded"
        assert (await ask(port.port, client.client_context())).endswith("ping")


async def test_rotation_under_load_fails_no_request(mesh: Mesh, tmp_path: Path) -> None:
    srv_vol, cli_vol = KubeletVolume(tmp_path / "srv"), KubeletVolume(tmp_path / "cli")
    _publish(srv_vol, mesh.issue(sa="backend"))
    _publish(cli_vol, mesh.issue())
    server, client = ReloadingIdentity(srv_vol.identity()), ReloadingIdentity(cli_vol.identity())
    rotations, per_worker, workers = 5, 60, 4
    # Bounded whatever the machine's speed: no worker sends more than this many requests.
    most_per_worker = 2000
    server_certs: set[str] = set()
    failures: list[BaseException] = []
    served = attempted = 0
    rotated, handshaken = asyncio.Event(), asyncio.Event()

    async def worker(n: int) -> None:
        nonlocal served, attempted
        reader, writer = None, None
        i = 0
        # Every worker keeps going until the rotations are over, so requests cross each of them
        # however slowly the certificates are issued on a loaded machine.
        while (i < per_worker or not rotated.is_set()) and i < most_per_worker:
            attempted += 1
            try:
                # Every third request opens a new connection; the rest reuse the current one,
                # so both new handshakes and long-lived connections cross the rotations.
                if writer is None or i % 3 == 0:
                    if writer is not None:
                        writer.close()
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", port.port, ssl=client.client_context()
                    )
                    server_certs.add(_fingerprint(writer))
                    handshaken.set()
                assert reader is not None
                answer = await _line(reader, writer, f"{n}-{i}")
                assert answer.endswith(f"{n}-{i}")
                served += 1
            except (OSError, AssertionError, TimeoutError) as exc:
                failures.append(exc)
            i += 1
            await asyncio.sleep(0)
        if writer is not None:
            writer.close()

    async def rotator() -> None:
        try:
            for _ in range(rotations):
                # The next rotation waits for a new handshake under the current certificate:
                # the load spans every rotation by construction, not by the timing of sleeps.
                await asyncio.wait_for(handshaken.wait(), timeout=30)
                handshaken.clear()
                _publish(srv_vol, mesh.issue(sa="backend"))
                _publish(cli_vol, mesh.issue())
                assert server.poll() == "reloaded"
                assert client.poll() == "reloaded"
        finally:
            rotated.set()

    async with inbound(lambda: server.server_switch(True).outer, "STRICT") as port:
        await asyncio.gather(rotator(), *(worker(n) for n in range(workers)))

    assert failures == []
    assert served == attempted >= per_worker * workers
    assert server.stats.reloads == rotations
    # The load really spanned the rotations: new handshakes met several server certificates.
    assert len(server_certs) >= 3
