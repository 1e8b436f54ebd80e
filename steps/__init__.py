"""ZenML steps, grouped by stage. Each step is a thin shell around ``sentiment``."""
