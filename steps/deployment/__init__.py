from steps.deployment.package import package_bento
from steps.deployment.release import containerize_bento, rollout_kubernetes, start_container

__all__ = ["containerize_bento", "package_bento", "rollout_kubernetes", "start_container"]
