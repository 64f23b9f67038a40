"""Work that runs after commit or when it falls due: the outbox runner and the sweep of due work."""
