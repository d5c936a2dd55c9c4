"""Operating an instance: checking its configuration, backing it up and restoring it (see docs/deploy.md)."""
