"""A local control plane (etcd, kube-apiserver, kube-controller-manager) for tests and demos."""
