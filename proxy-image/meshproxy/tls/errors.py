"""The error the TLS building blocks raise when files cannot become a context.

Messages name the files and OpenSSL's reason; they never include file contents.
"""


class TLSFilesError(Exception):
    """Certificate, key or CA files cannot be loaded; the old context stays in use."""
