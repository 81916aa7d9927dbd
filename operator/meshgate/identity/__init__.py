"""Mesh identity on the operator side: the CA Secret, workload identity Secrets and the
NetworkPolicies that back STRICT mTLS.

`meshed`, `plan`, `issue`, `network_policy` and `settings` are pure (no kopf, no Kubernetes
client); `ca_store`, `cluster` and `reconcile` do the I/O through `meshgate.kube.rest`;
`handlers` registers the kopf handlers. Nothing in this package may put key material into a log
line, an Event, a status or an exception message.
"""
