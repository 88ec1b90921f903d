#!/usr/bin/env bash
# Container entry point: renders the node's config from the environment (or uses a mounted
# /etc/tollgate/config.yaml), then runs the node in the foreground so SIGTERM reaches it (drain,
# then exit 0).
#
#   TOLLGATE_NODE_NAME       node name (default: the host name, i.e. the pod or container name)
#   TOLLGATE_CLUSTER_MEMBERS comma-separated HOST:PORT of the members (empty: a lone node)
#   POD_IP                   the address Hazelcast binds (cluster.listen must be an IP); in
#                            Kubernetes from the downward API, else the container's first address
#   TOLLGATE_CONTROL_TOKEN   the control API's bearer token (read by the node itself)
#   TOLLGATE_POLICY          a policy JSON file that seeds an empty store
#   TOLLGATE_DRAIN_TIMEOUT   drain timeout (default 30s)
set -euo pipefail
config=/etc/tollgate/config.yaml
if [[ ! -f "$config" ]]; then
  ip="${POD_IP:-$(hostname -i | awk '{print $1}')}"
  config=/data/config.yaml
  {
    echo "proxy: {listen: \"0.0.0.0:3128\"}"
    echo "control: {listen: \"0.0.0.0:9090\"}"
    echo "node: {name: \"${TOLLGATE_NODE_NAME:-$(hostname)}\", dataDir: /data, drainTimeout: \"${TOLLGATE_DRAIN_TIMEOUT:-30s}\"}"
    if [[ -n "${TOLLGATE_POLICY:-}" ]]; then echo "policy: \"$TOLLGATE_POLICY\""; fi
    if [[ -n "${TOLLGATE_CLUSTER_MEMBERS:-}" ]]; then
      members=$(sed 's/[^,][^,]*/"&"/g' <<<"$TOLLGATE_CLUSTER_MEMBERS")
      echo "cluster: {enabled: true, listen: \"$ip:5701\", members: [$members]}"
    fi
  } >"$config"
fi
exec java $JAVA_OPTS \
  --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens java.management/sun.management=ALL-UNNAMED \
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
  --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
  -jar /opt/tollgate/tollgate.jar --config "$config"
