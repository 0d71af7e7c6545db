"""Append-only audit log: who did what to whom, when and from where (see services.record)."""
