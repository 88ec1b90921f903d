#!/usr/bin/env bash
# Checks the deployment assets with the tools at hand (no Docker or Kubernetes here): YAML syntax,
# HAProxy's config check, shell syntax, the dashboard JSON, and the manifests' essentials.
# Prints "ok - ..." / "not ok - ..." and a total; installs yamllint and jq when missing.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$1"; [[ -n "${2:-}" ]] && printf '#   %s\n' "$2"; }
check() { local d="$1"; shift; local out; if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "$(tr '\n' ' ' <<<"$out" | head -c 600)"; fi; }

missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v jq >/dev/null || missing+=(jq)
command -v haproxy >/dev/null || missing+=(haproxy)
if ((${#missing[@]} > 0)); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

lint='{extends: relaxed, rules: {line-length: disable, document-start: disable, truthy: disable}}'
for f in "$deploy"/docker-compose.yml "$deploy"/k8s/*.yaml "$deploy"/prometheus/*.yml "$deploy"/grafana/provisioning/*/*.yml; do
  check "YAML syntax: ${f#"$deploy"/}" yamllint -d "$lint" "$f"
done
check "haproxy -c on haproxy/haproxy.cfg" haproxy -c -q -f "$deploy/haproxy/haproxy.cfg"
for f in "$deploy"/docker-entrypoint.sh "$deploy"/local-cluster.sh "$deploy"/e2e/*.sh; do
  check "bash -n ${f#"$deploy"/}" bash -n "$f"
done
for f in "$deploy"/grafana/dashboards/*.json; do
  check "dashboard JSON parses and has panels: ${f#"$deploy"/}" bash -c '[[ $(jq ".panels | length" "$0") -gt 0 ]]' "$f"
done

k="$deploy/k8s"
check "kustomization lists every manifest" bash -c 'for f in "$0"/*.yaml; do b=$(basename "$f"); [[ $b == kustomization.yaml ]] || grep -q "^  - $b$" "$0/kustomization.yaml" || exit 1; done' "$k"
check "readiness probe on /readyz" grep -q "path: /readyz" "$k/statefulset.yaml"
check "liveness probe on /healthz" grep -q "path: /healthz" "$k/statefulset.yaml"
check "preStop hook posts /v1/drain" bash -c 'grep -q "preStop" "$0" && grep -q "POST /v1/drain" "$0"' "$k/statefulset.yaml"
check "POD_IP from the downward API (cluster.listen is an IP)" bash -c 'grep -A1 "name: POD_IP" "$0" | grep -q "status.podIP"' "$k/statefulset.yaml"
check "grace period longer than the drain timeout" bash -c 'g=$(sed -n "s/.*terminationGracePeriodSeconds: *\([0-9]*\).*/\1/p" "$0"); d=$(grep -A1 "TOLLGATE_DRAIN_TIMEOUT" "$0" | sed -n "s/.*value: *\([0-9]*\)s.*/\1/p"); (( g > d ))' "$k/statefulset.yaml"
check "headless Service for Hazelcast publishes not-ready addresses" bash -c 'grep -q "clusterIP: None" "$0" && grep -q "publishNotReadyAddresses: true" "$0"' "$k/services.yaml"
check "LoadBalancer Service for the proxy port" bash -c 'grep -q "type: LoadBalancer" "$0" && grep -q "port: 3128" "$0"' "$k/services.yaml"
check "PodDisruptionBudget" grep -q "kind: PodDisruptionBudget" "$k/pdb.yaml"
check "compose: three nodes, HAProxy, Prometheus, Grafana with provisioning mounted" bash -c 'for s in tollgate-1: tollgate-2: tollgate-3: haproxy: prometheus: grafana: grafana/provisioning grafana/dashboards prometheus-compose.yml; do grep -q "$s" "$0" || exit 1; done' "$deploy/docker-compose.yml"
check "compose stop grace period longer than the drain timeout" grep -q "stop_grace_period: 45s" "$deploy/docker-compose.yml"

echo "$passed passed, $failed failed"
((failed == 0))
