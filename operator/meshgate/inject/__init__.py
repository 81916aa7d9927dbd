"""Sidecar injection: the pure Pod patch and the admission webhook around it."""
