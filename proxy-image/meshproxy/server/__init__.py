"""The client side: one asyncio Protocol per accepted connection, and its listener state."""
