"""Operating the platform: health and readiness checks, Prometheus metrics."""
