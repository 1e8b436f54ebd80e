#!/usr/bin/env bash
# Install every Debian package the test suite needs, idempotently.
#
# Why a separate script: CI (.ci/run) and developers on a fresh machine need the same
# system binaries (podman, prometheus, chromium...). Nothing installed by hand survives a
# change of machine, so this list is the single source of truth.
#
# - Packages already installed are skipped; when nothing is missing no network is used.
# - `apt-get update` runs once, then one `apt-get install -y --no-install-recommends`.
# - No service started by a package's maintainer scripts may linger: a temporary
#   policy-rc.d refuses service starts during the install, and the daemons in
#   LINGERING_SERVICES are stopped and disabled afterwards in case something started them.
set -euo pipefail

# ---------------------------------------------------------------------------
# PACKAGES: one per line, grouped by who needs them. Other helpers: append here.
# ---------------------------------------------------------------------------
PACKAGES=(
  # Containers (tests/containers, tests/support/podman.py): build and run the Bento image.
  # runc, not crun: crun refuses this machine's hybrid cgroups.
  podman
  buildah
  runc
  debootstrap        # builds the offline stand-in for python:3.11-slim
  ca-certificates
  docker-registry    # a real registry on 127.0.0.1 for push_image tests
  # Monitoring (tests/monitoring): a real Prometheus scraping the service.
  prometheus
  # Dashboard/browser checks (Debian names; see BROWSER_PACKAGES below for Ubuntu).
  chromium
  chromium-driver
  fonts-liberation
  # The local Kubernetes node (local_cluster/, `make cluster`): its container runtime,
  # OCI runtime (runc, above) and pod network plugins; kubelet and the control plane are
  # built from the Go module proxy with the machine's Go.
  containerd
  containernetworking-plugins
  iproute2           # creates the pod bridge on `make cluster`, deletes it on cluster-down
  socat              # the API server for pods on the pod gateway (local_cluster/node.py)
  openssl            # the cluster's certificates
  gcc                # the pod sandbox's static pause binary
  libc6-dev
  # --- add further packages below this line (keep one per line, with a comment) ---
  wrk                # bench/serve.py's second load generator (bench/wrk.py)
)

# Ubuntu ships Chromium only as a snap (its apt packages are snap wrappers, unusable in CI):
# there the tests use the preinstalled Google Chrome and its chromedriver
# (tests/support/chromium.py CHROME_ALTERNATIVES), so the Debian browser packages are dropped.
if grep -qs '^ID=ubuntu' /etc/os-release; then
  kept=()
  for pkg in "${PACKAGES[@]}"; do
    [[ $pkg == chromium || $pkg == chromium-driver ]] || kept+=("$pkg")
  done
  PACKAGES=("${kept[@]}")
  command -v google-chrome >/dev/null && command -v chromedriver >/dev/null \
    || echo "system-deps: warning: no google-chrome/chromedriver; the browser test will fail" >&2
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "system-deps: installing ${missing[*]}"
  # Refuse service starts during the install unless a policy already exists.
  created_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() { if [[ -n $created_policy ]]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  $SUDO apt-get "${APT_OPTS[@]}" update -qq
  $SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

# Tests start their own servers on free ports; packaged daemons must not linger.
LINGERING_SERVICES=(prometheus docker-registry)
for svc in "${LINGERING_SERVICES[@]}"; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/$svc ]]; then
    $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null 2>&1; then
      $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  fi
done
echo "system-deps: done"
