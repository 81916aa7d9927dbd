"""Pure compilation of a cluster snapshot into proxy config documents. Never does I/O."""
