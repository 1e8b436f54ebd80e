from steps.registry.register import register_and_promote

__all__ = ["register_and_promote"]
