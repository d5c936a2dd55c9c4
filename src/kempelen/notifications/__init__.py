"""The event outbox and its delivery."""
