"""Config pushed by the operator: the proxy's side of the config stream.

The mounted ConfigMap file stays what the proxy boots from and falls back to; the stream only
shortens the wait for a change from the kubelet's sync period (a minute or more) to the time the
operator needs to notice the ConfigMap it wrote. A pushed config is applied exactly as a file
reload is (one stack reference swapped), off the request path.
"""
