#!/bin/sh
# Once Temporal answers: the namespace and the search attributes our workflows set (kit/temporal.py,
# SEARCH_ATTRIBUTES), so operators find an order in the Web UI by OrderId, CustomerEmail or OrderStatus.
# Idempotent, and patient: a namespace just created takes a few seconds to be usable everywhere.
# Runs in temporalio/admin-tools with TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) set.
# Used by docker-compose.yml (temporal-setup) and kind-deployment/infra.yaml (Job temporal-setup).
set -eu
namespace="${TEMPORAL_NAMESPACE:-default}"

# eventually CHECK ACTION: run ACTION until CHECK succeeds (up to 2 minutes).
eventually() {
    attempt=0
    until sh -c "$1" >/dev/null 2>&1; do
        attempt=$((attempt + 1))
        if [ "$attempt" -gt 60 ]; then
            echo "gave up: $1" >&2
            return 1
        fi
        sh -c "$2" || true
        sleep 2
    done
}

eventually "temporal operator cluster health" "echo waiting for Temporal at $TEMPORAL_ADDRESS"
eventually "temporal operator namespace describe --namespace $namespace" \
    "temporal operator namespace create --namespace $namespace --retention 72h"
for attribute in OrderId:Keyword CustomerEmail:Keyword OrderStatus:Keyword; do
    name="${attribute%%:*}"
    type="${attribute#*:}"
    eventually "temporal operator search-attribute list --namespace $namespace | grep -qw $name" \
        "temporal operator search-attribute create --namespace $namespace --name $name --type $type"
done
temporal operator search-attribute list --namespace "$namespace"
echo "temporal: namespace $namespace and search attributes ready"
