"""Metrics and access logs: cheap to record on the hot path, rendered only when asked."""
