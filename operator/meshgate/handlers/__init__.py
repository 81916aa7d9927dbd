"""kopf handlers: read, call compile, write, report status. Thin by design."""
