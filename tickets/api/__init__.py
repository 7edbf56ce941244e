"""The REST API under /api/v1/: thin DRF views over tickets.services and tickets.selectors."""
