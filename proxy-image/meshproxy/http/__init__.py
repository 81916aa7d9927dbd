"""HTTP/1.1 pieces shared by the client side (`server/`) and the upstream side (`upstream/`)."""
