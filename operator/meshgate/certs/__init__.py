"""Mesh CA and workload certificates, built with cryptography. Pure: no Kubernetes I/O.

Every function takes the current time as an argument; nothing here reads the clock, talks to
the API server, logs, or puts key material into a message.
"""
