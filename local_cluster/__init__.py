"""A real single-node Kubernetes on 127.0.0.1, built from the Go module proxy and started by
the project (``make cluster``): the cluster the deploy and orchestrator tests run against.

Layout: ``settings`` (typed configs/cluster.yaml, paths), ``build`` (go build into the
cache), ``pki`` (certificates, kubeconfigs), ``control_plane`` (etcd, API server,
controllers), ``node`` (registry, containerd, CNI, kubelet), ``host`` (what the node changes
on the machine, and its undoing), ``processes`` (PID files), ``lifecycle`` (up/down/status).
"""
