"""Kubernetes I/O: the only place (besides handlers) that talks to the API server."""
