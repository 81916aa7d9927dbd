"""TCP and TLS passthrough listeners: connections forwarded as bytes, never parsed as HTTP."""
