"""The job runner: timers, outbox delivery and housekeeping."""
