"""Operating Kempelen: health endpoints, Prometheus metrics, structured logs and request ids (docs/operations.md)."""
