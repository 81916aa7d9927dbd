"""The errors the local control plane raises, so callers can tell a setup problem from a crash.

This module must never import anything heavier than the standard library.
"""

from __future__ import annotations


class LocalClusterError(Exception):
    """Base class: something about the local control plane went wrong."""


class MissingTestBinsError(LocalClusterError):
    """The pinned kube-apiserver/etcd/controller-manager binaries are not where we were told."""


class ClusterStartError(LocalClusterError):
    """A component did not come up; the message carries the tail of its log."""
