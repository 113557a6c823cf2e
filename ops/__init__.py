"""Operating the service: health endpoints, request ids in logs, Prometheus metrics."""
