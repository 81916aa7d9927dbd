"""The upstream side: keep-alive connection pools per endpoint, and the HTTP/1.1 client protocol."""
