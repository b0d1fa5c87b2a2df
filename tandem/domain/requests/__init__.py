"""Each caller's own recent requests (`GET /api/v1/requests`), like Stripe's request log."""
