"""Business logic the handlers call: ingest (accept and fan out), admin, executor (copy)."""
