"""meshproxy: the one data plane of meshgate, at the edge and beside every workload.

It must never import the operator (`meshgate`), kopf or the Kubernetes client.
"""

__version__ = "0.1.0"
