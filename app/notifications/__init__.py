"""E-mail and in-app messages: reminders, digests, escalations; queued in the transaction, e-mailed after it commits."""
