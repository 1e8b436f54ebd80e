from steps.monitoring.drift import detect_drift

__all__ = ["detect_drift"]
