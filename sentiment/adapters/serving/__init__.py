"""Internals of the BentoML service (service.py): settings, request checks, auth, metrics,
batching and model loading. Plain Python apart from :mod:`.loading`, which reads the BentoML
model store, so each piece is testable without a server."""
