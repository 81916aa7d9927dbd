"""The local node agent: plays kubelet for one fake Node so Pods run as local processes.

Run it with `python -m harness --kubeconfig PATH --state-dir DIR` (with `tests/e2e` on
`sys.path`); the e2e fixtures do. It must never touch a process it did not start, and never
listen anywhere but on its own pod network (a local route on the loopback device).
"""
