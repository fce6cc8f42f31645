#!/usr/bin/env bash
# The platform in a local Kind cluster: build the image, create the cluster, load the image, apply the
# manifests (the infrastructure first, waited for, then the platform), wait for every rollout.
# Idempotent: a second run reuses the cluster and the image layers and applies no change.
#
#   kind-deployment/setup.sh              # all of: build cluster load apply wait
#   kind-deployment/setup.sh STEP...      # build | cluster | load | apply | wait | smoke | diagnose | delete
#
# Then: gateway http://localhost:3000, Temporal Web UI http://localhost:8233, Prometheus http://localhost:9090,
# Grafana http://localhost:3100 (dashboard "Commerce: the shop at a glance"), Jaeger http://localhost:16686 (traces).
# Needs docker, kind, kubectl and envsubst (gettext); `smoke` needs curl and python3.
# Variables: IMAGE_TAG (dev), KIND_CLUSTER_NAME (commerce), ROLLOUT_TIMEOUT (600s),
# GATEWAY_URL (http://127.0.0.1:3000, for smoke).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
export IMAGE_TAG="${IMAGE_TAG:-dev}"
cluster="${KIND_CLUSTER_NAME:-commerce}"
image="commerce:${IMAGE_TAG}"
namespace=commerce
timeout="${ROLLOUT_TIMEOUT:-600s}"

log() { printf '==> %s\n' "$*"; }
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || { echo "setup.sh: '$tool' is required" >&2; exit 1; }
    done
}
kube() { kubectl --context "kind-${cluster}" "$@"; }
# Only ${IMAGE_TAG} is substituted: the scripts inside the ConfigMaps keep their own $variables.
render() { envsubst '${IMAGE_TAG}' <"$here/$1"; }
# rollouts SELECTOR KIND...: wait for every matching workload's rollout.
rollouts() {
    local selector="$1" kind name
    shift
    for kind in "$@"; do
        for name in $(kube -n "$namespace" get "$kind" -l "$selector" -o name); do
            kube -n "$namespace" rollout status "$name" --timeout="$timeout"
        done
    done
}

step_build() {
    need docker
    log "building $image"
    docker build -f "$repo/deploy/Dockerfile" -t "$image" "$repo"
}

step_cluster() {
    need kind kubectl
    if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
        log "cluster $cluster already exists"
    else
        log "creating cluster $cluster"
        kind create cluster --name "$cluster" --config "$here/cluster.yaml" --wait 180s
    fi
}

step_load() {
    need kind
    log "loading $image into $cluster"
    kind load docker-image "$image" --name "$cluster"
}

step_apply() {
    need kubectl envsubst
    log "applying the infrastructure"
    render infra.yaml | kube apply -f -
    rollouts app.kubernetes.io/component=infra statefulsets deployments
    kube -n "$namespace" wait --for=condition=complete job/temporal-setup --timeout="$timeout"
    log "applying the platform ($image)"
    render services.yaml | kube apply -f -
    log "applying Prometheus and Grafana"
    render observability.yaml | kube apply -f -
}

step_wait() {
    need kubectl
    log "waiting for the rollouts"
    rollouts app.kubernetes.io/part-of=commerce statefulsets deployments
    kube -n "$namespace" get pods -o wide
}

step_smoke() {
    log "smoke tests through the gateway"
    "$here/smoke.sh"
}

step_diagnose() {
    need kubectl
    kube -n "$namespace" get pods,services,jobs,pvc -o wide || true
    kube -n "$namespace" get events --sort-by=.lastTimestamp | tail -n 50 || true
    local pod
    for pod in $(kube -n "$namespace" get pods -o name); do
        echo "--- $pod"
        kube -n "$namespace" logs "$pod" --all-containers --prefix --tail=80 || true
    done
}

step_delete() {
    need kind
    kind delete cluster --name "$cluster"
}

steps=("$@")
[ "${#steps[@]}" -gt 0 ] || steps=(build cluster load apply wait)
for step in "${steps[@]}"; do
    case "$step" in
        all) step_build; step_cluster; step_load; step_apply; step_wait ;;
        build | cluster | load | apply | wait | smoke | diagnose | delete) "step_$step" ;;
        *)
            echo "setup.sh: unknown step '$step' (build, cluster, load, apply, wait, smoke, diagnose, delete, all)" >&2
            exit 2
            ;;
    esac
done
