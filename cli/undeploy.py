"""``run.py undeploy``: stop what ``deploy`` started (a container or a Kubernetes release)."""

from cli.deploy import add_undeploy_arguments as add_arguments
from cli.deploy import undeploy_main as main

__all__ = ["add_arguments", "main"]
