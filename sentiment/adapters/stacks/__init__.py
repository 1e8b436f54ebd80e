"""Stack registration: the stacks described in ``stacks/*.yaml``, registered idempotently.

ZenML's own ``stack import`` refuses to update a component whose configuration differs,
so registration compares each component with the file and creates, updates or leaves it,
saying which. The same goes for the ZenML secrets a stack file declares: components only
ever hold ``{{secret.key}}`` references, and the values come from environment variables
(or a prompt on a terminal), so no credential is written to the repository.

A stack file (see ``stacks/local.yaml`` and ``stacks/aws.yaml``)::

    name: aws
    secrets:                        # optional
      sentiment_mlflow:
        keys: {username: MLFLOW_TRACKING_USERNAME, password: MLFLOW_TRACKING_PASSWORD}
      sentiment_s3:
        optional: true              # not created when none of its variables is set
        keys: {aws_access_key_id: S3_ACCESS_KEY_ID, ...}
    components:
      artifact_store: {name: ..., flavor: s3, configuration: {path: "s3://${AWS_BUCKET}"}}

``${NAME}`` must get a value (``--set NAME=value``, else the environment), ``${NAME:-x}``
defaults to ``x``. A component setting whose value ends up empty, or that references an
optional secret which does not exist, is left unset so that the flavor's default applies.

One job per module: :mod:`.spec` reads files (no ZenML), :mod:`.secrets` syncs secrets and
checks references, :mod:`.register` writes components and stacks, :mod:`.mlflow_store`
prepares a local MLflow store. ``cli/stacks.py`` is the command line over them.
"""

from sentiment.adapters.stacks.mlflow_store import (
    EXPERIMENTS,
    ensure_experiment,
    ensure_local_mlflow,
)
from sentiment.adapters.stacks.register import ensure_stack, register_stack
from sentiment.adapters.stacks.secrets import sync_secret, terminal_prompt
from sentiment.adapters.stacks.spec import (
    ComponentSpec,
    MissingValuesError,
    Prompt,
    SecretSpec,
    StackSpec,
    StackSpecError,
    load_stack_spec,
    parse_sets,
    stack_file,
)

__all__ = [
    "EXPERIMENTS",
    "ComponentSpec",
    "MissingValuesError",
    "Prompt",
    "SecretSpec",
    "StackSpec",
    "StackSpecError",
    "ensure_experiment",
    "ensure_local_mlflow",
    "ensure_stack",
    "load_stack_spec",
    "parse_sets",
    "register_stack",
    "stack_file",
    "sync_secret",
    "terminal_prompt",
]
