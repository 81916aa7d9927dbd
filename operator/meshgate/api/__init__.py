"""The meshgate.io API: pydantic models of every CRD, the single source of the CRD schemas."""
