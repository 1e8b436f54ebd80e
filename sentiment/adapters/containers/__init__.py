"""Build, run, stop and push the Bento's OCI image with docker, podman or buildah.

Why a module of its own: the "local container" and "kubernetes" deployment targets both need
the Bento as an image, and the builder differs between hosts (a Docker daemon on a laptop or
CI runner, daemonless podman/buildah elsewhere). BentoML's ``bentoml containerize`` already
generates the Dockerfile and drives every builder; this module only chooses the builder,
names the image after the Bento version, and turns failures into errors that show the build
log instead of a bare exit code.

Defaults are the standard BentoML build for a normal Docker host: the ``docker`` backend and
the base image the bentofile asks for (``python:3.11-slim``). Everything else is opt-in
through :class:`ContainerSettings` (``configs/deployment.yaml``, section ``container:``):

- ``backend: podman`` or ``buildah`` for daemonless hosts. Images built by buildah land in the
  same containers-storage as podman's, so they are run and pushed with ``podman``.
- ``env``: environment for the builder/runtime CLI, e.g. ``CONTAINERS_CONF`` pointing at a
  containers.conf that picks another OCI runtime or ulimits, or ``DOCKER_HOST``.
- ``run_args``: extra ``<cli> run`` arguments, e.g. ``--ulimit nofile=20000:20000`` or
  ``--network=bridge``.
- ``build_args``: extra ``bentoml containerize --opt`` values, e.g. ``network=host`` or
  ``build-arg=HTTPS_PROXY=http://proxy:3128``.
- ``push_args``: extra ``<cli> push`` arguments, e.g. ``--tls-verify=false`` for a plain-HTTP
  registry in a lab.

Behind a corporate proxy that intercepts TLS, build a base image with the proxy's CA trusted
(``SSL_CERT_FILE``/``PIP_CERT`` set) and name it in the bentofile's ``docker.base_image``: the
base image is fixed when the Bento is built, not when it is containerized.

Public interface (import from here; the submodules are an implementation detail):
:mod:`.settings` (the config section), :mod:`.build` (the CLI runner and the image build),
:mod:`.running` (the local ``container`` target) and :mod:`.push` (registries).
"""

from sentiment.adapters.containers.build import (
    BENTOML_CLI,
    ContainerError,
    Probe,
    Runner,
    bento_version,
    build_step,
    containerize,
    containerize_command,
    image_ref,
    streaming_runner,
)
from sentiment.adapters.containers.push import push_commands, push_image, remote_ref
from sentiment.adapters.containers.running import (
    CONTAINER_NAME,
    container_logs,
    http_ready,
    local_address,
    ready_url,
    remove_container,
    run_command,
    run_container,
    stop_container,
)
from sentiment.adapters.containers.settings import BACKEND_CLI, ContainerSettings

__all__ = [
    "BACKEND_CLI",
    "BENTOML_CLI",
    "CONTAINER_NAME",
    "ContainerError",
    "ContainerSettings",
    "Probe",
    "Runner",
    "bento_version",
    "build_step",
    "container_logs",
    "containerize",
    "containerize_command",
    "http_ready",
    "image_ref",
    "local_address",
    "push_commands",
    "push_image",
    "ready_url",
    "remote_ref",
    "remove_container",
    "run_command",
    "run_container",
    "stop_container",
    "streaming_runner",
]
