"""Mesh CA and workload certificates, built with cryptography. Pure: no Kubernetes I/O."""
