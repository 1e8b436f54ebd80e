from steps.data.ingest import ingest_reviews, locate_source
from steps.data.validate import validate_reviews

__all__ = ["ingest_reviews", "locate_source", "validate_reviews"]
