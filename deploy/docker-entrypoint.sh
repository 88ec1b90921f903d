#!/usr/bin/env bash
# Entry point of the Tollgate container (deploy/Dockerfile).
#
#   docker-entrypoint.sh [NODE OPTIONS...]   render the config, then exec the node (the default)
#   docker-entrypoint.sh render              render the config and print it (a dry run)
#   docker-entrypoint.sh healthcheck         exit 0 when /healthz answers 200 (Docker HEALTHCHECK)
#   docker-entrypoint.sh drain               POST /v1/drain, then wait for the node to exit
#                                            (the Kubernetes preStop hook)
#
# The config. Hazelcast binds only the interface named by cluster.listen, and that must be an IP
# literal, while the address of a container or pod is known only when it starts. So the config
# is rendered at start:
#   - a template mounted at $TOLLGATE_CONFIG_TEMPLATE (default /etc/tollgate/config.yaml; the
#     Kubernetes ConfigMap) has its ${NAME} placeholders replaced by the values of those
#     environment variables (e.g. ${POD_IP}, ${NODE_NAME}, ${NAMESPACE}); a placeholder whose
#     variable is unset stops the container;
#   - without a template the config is written from the variables below (docker-compose).
# Either way the result goes to $TOLLGATE_RUN_DIR/config.yaml (default /tmp/tollgate) and the
# JVM is exec'd, so SIGTERM reaches the node: it drains (readyz 503, listeners closed after
# node.drainDelay, tunnels get node.drainTimeout), leaves the cluster and exits 0.
#
# Environment:
#   POD_IP                    the IP Hazelcast binds; Kubernetes: the downward API's status.podIP;
#                             default: this container's first address (hostname -i)
#   NODE_NAME                 node name (default $TOLLGATE_NODE_NAME, else the host name)
#   TOLLGATE_CONTROL_TOKEN    the control API's bearer token, read by the node itself (16+ chars)
#   TOLLGATE_CLUSTER_MEMBERS  without a template: comma-separated HOST:PORT of the members
#                             (empty: a lone node, no Hazelcast)
#   TOLLGATE_CLUSTER_PORT     without a template: Hazelcast's port (default 5701)
#   TOLLGATE_POLICY           without a template: a policy JSON file that seeds an empty store
#   TOLLGATE_DRAIN_TIMEOUT    without a template: node.drainTimeout (default 30s)
#   TOLLGATE_DRAIN_DELAY      without a template: node.drainDelay (default 3s: HAProxy of
#                             docker-compose checks every 1 s and needs two failures)
#   TOLLGATE_ALLOW_PRIVATE    without a template: comma-separated CIDRs for network.allowPrivate
#   TOLLGATE_CONNECT_PORTS    without a template: comma-separated ports for network.connectPorts
#   TOLLGATE_CONTROL_PORT     the port healthcheck and drain call on 127.0.0.1 (default 9090)
#   TOLLGATE_DRAIN_WAIT       seconds drain waits for the node to exit (default 40)
#   JAVA_OPTS                 JVM options (heap, GC); the module flags Hazelcast needs are added
#   TOLLGATE_JAR              the node jar (default /opt/tollgate/tollgate.jar)
set -euo pipefail

jar="${TOLLGATE_JAR:-/opt/tollgate/tollgate.jar}"
template="${TOLLGATE_CONFIG_TEMPLATE:-/etc/tollgate/config.yaml}"
run_dir="${TOLLGATE_RUN_DIR:-/tmp/tollgate}"
control_port="${TOLLGATE_CONTROL_PORT:-9090}"

die() { printf 'docker-entrypoint: %s\n' "$*" >&2; exit 2; }

# One HTTP/1.1 exchange with the local control API over bash's /dev/tcp (the image needs no curl).
# Prints the status code; fails when nothing answers.
http_status() {
  local method=$1 path=$2 auth="" line
  [[ -n "${TOLLGATE_CONTROL_TOKEN:-}" ]] && auth="Authorization: Bearer $TOLLGATE_CONTROL_TOKEN"$'\r\n'
  exec 3<>"/dev/tcp/127.0.0.1/$control_port" || return 1
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n' \
    "$method" "$path" "$auth" >&3
  IFS= read -r -t 5 line <&3 || { exec 3<&-; return 1; }
  exec 3<&-
  line=${line%$'\r'}
  [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] || return 1
  printf '%s\n' "${BASH_REMATCH[1]}"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$control_port") 2>/dev/null; }

healthcheck() {
  local code
  code=$(http_status GET /healthz 2>/dev/null) || exit 1
  [[ $code == 200 ]]
}

drain() {
  local code wait="${TOLLGATE_DRAIN_WAIT:-40}"
  [[ -n "${TOLLGATE_CONTROL_TOKEN:-}" ]] || die "drain: TOLLGATE_CONTROL_TOKEN is not set"
  if ! code=$(http_status POST /v1/drain 2>/dev/null); then
    echo "docker-entrypoint: drain: the control API does not answer; nothing to drain"
    return 0
  fi
  # 202: the drain started; 409 or similar: one is already under way. Either way, wait.
  echo "docker-entrypoint: drain: POST /v1/drain answered $code; waiting up to ${wait}s for the node to exit"
  for ((i = 0; i < wait * 2; i++)); do
    listening || { echo "docker-entrypoint: drain: the node has stopped"; return 0; }
    sleep 0.5
  done
  echo "docker-entrypoint: drain: the node still runs after ${wait}s" >&2
  return 1
}

# Replaces every ${NAME} of the template with that variable's value, in one pass.
render_template() {
  local line out name re='^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$' rest
  while IFS= read -r line || [[ -n $line ]]; do
    out="" rest=$line
    while [[ $rest =~ $re ]]; do
      name=${BASH_REMATCH[2]}
      [[ -n "${!name:-}" ]] || die "$template uses \${$name} but $name is not set"
      out+="${BASH_REMATCH[1]}${!name}"
      rest=${BASH_REMATCH[3]}
    done
    printf '%s\n' "$out$rest"
  done <"$template"
}

quote_list() { sed 's/ //g; s/[^,][^,]*/"&"/g' <<<"$1"; }

render_from_env() {
  echo "# rendered by docker-entrypoint.sh from the environment"
  echo "proxy: {listen: \"0.0.0.0:3128\"}"
  echo "control: {listen: \"0.0.0.0:9090\"}"
  echo "node: {name: \"$NODE_NAME\", dataDir: /data, drainTimeout: \"${TOLLGATE_DRAIN_TIMEOUT:-30s}\", drainDelay: \"${TOLLGATE_DRAIN_DELAY:-3s}\"}"
  local network=""
  [[ -n "${TOLLGATE_ALLOW_PRIVATE:-}" ]] && network="allowPrivate: [$(quote_list "$TOLLGATE_ALLOW_PRIVATE")]"
  [[ -n "${TOLLGATE_CONNECT_PORTS:-}" ]] && network="${network:+$network, }connectPorts: [${TOLLGATE_CONNECT_PORTS// /}]"
  [[ -n $network ]] && echo "network: {$network}"
  [[ -n "${TOLLGATE_POLICY:-}" ]] && echo "policy: \"$TOLLGATE_POLICY\""
  if [[ -n "${TOLLGATE_CLUSTER_MEMBERS:-}" ]]; then
    echo "cluster: {enabled: true, listen: \"$POD_IP:${TOLLGATE_CLUSTER_PORT:-5701}\", members: [$(quote_list "$TOLLGATE_CLUSTER_MEMBERS")]}"
  fi
}

render() {
  if [[ -z "${POD_IP:-}" ]]; then
    POD_IP=$(hostname -i 2>/dev/null | awk '{print $1}') || true
  fi
  # cluster.listen must be an IP literal: refuse a name (or nothing) here rather than in the JVM.
  [[ ${POD_IP:-} =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || ${POD_IP:-} == *:* ]] \
    || die "POD_IP must be this container's IP address (got '${POD_IP:-}')"
  [[ $POD_IP == *:* && $POD_IP != \[* ]] && POD_IP="[$POD_IP]"
  NODE_NAME="${NODE_NAME:-${TOLLGATE_NODE_NAME:-$(hostname)}}"
  export POD_IP NODE_NAME
  mkdir -p "$run_dir"
  if [[ -f $template ]]; then
    render_template >"$run_dir/config.yaml.tmp"
  else
    render_from_env >"$run_dir/config.yaml.tmp"
  fi
  mv "$run_dir/config.yaml.tmp" "$run_dir/config.yaml"
}

case "${1:-}" in
  healthcheck) healthcheck; exit ;;
  drain) drain; exit ;;
  render) render; cat "$run_dir/config.yaml"; exit 0 ;;
esac

render
# JAVA_OPTS is a list of options: split on spaces on purpose.
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} \
  --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens java.management/sun.management=ALL-UNNAMED \
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
  --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
  -jar "$jar" --config "$run_dir/config.yaml" "$@"
