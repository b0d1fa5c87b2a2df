"""What Tandem tells its operators: Prometheus metrics, request logs, request telemetry."""
