from steps.data.ingest import ingest_reviews
from steps.data.validate import validate_reviews

__all__ = ["ingest_reviews", "validate_reviews"]
