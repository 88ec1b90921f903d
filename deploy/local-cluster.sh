#!/usr/bin/env bash
# A three-node Tollgate cluster on loopback behind HAProxy (Debian's package), for trying the
# cluster and for the end-to-end suite.
#
#   deploy/local-cluster.sh start|stop|status
#
# Nodes: proxy 127.0.0.1:3131-3133, control 127.0.0.1:9091-9093, Hazelcast 127.0.0.1:5701-5703.
# HAProxy: TCP mode on 127.0.0.1:3128, each node checked on its /readyz (a draining node leaves
# the rotation), so `curl -x 127.0.0.1:3128 ...` goes through the balanced cluster.
# `stop` ends only what `start` started, by the pid files in the state directory.
#
# Environment:
#   TOLLGATE_CLUSTER_DIR    state directory (default deploy/.local-cluster): configs, data, logs, pids
#   TOLLGATE_JAR            the node jar (default node/target/tollgate.jar, built when missing)
#   TOLLGATE_POLICY         a policy JSON file that seeds an empty cluster
#   TOLLGATE_ALLOW_PRIVATE  comma-separated CIDRs exempt from the private-address refusal
#   TOLLGATE_CONNECT_PORTS  comma-separated ports CONNECT may reach (default 443)
#   TOLLGATE_DRAIN_TIMEOUT  drain timeout of each node (default 30s)
#   TOLLGATE_DRAIN_DELAY    how long a draining node keeps accepting after /readyz turns 503
#                           (default 2s: HAProxy needs two failed checks 500 ms apart, plus slack)
#   TOLLGATE_LB_PORT        HAProxy's port (default 3128)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
state="${TOLLGATE_CLUSTER_DIR:-$here/.local-cluster}"
jar="${TOLLGATE_JAR:-$root/node/target/tollgate.jar}"
lb_port="${TOLLGATE_LB_PORT:-3128}"
nodes=(1 2 3)

say() { printf 'local-cluster: %s\n' "$*"; }
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

token() {
  if [[ ! -s "$state/control-token" ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/control-token")
  fi
  cat "$state/control-token"
}

node_config() {
  local i=$1 allow="" members="" p
  for p in "${nodes[@]}"; do members+="\"127.0.0.1:570$p\", "; done
  if [[ -n "${TOLLGATE_ALLOW_PRIVATE:-}" ]]; then
    allow="allowPrivate: [$(sed 's/[^,][^,]*/"&"/g' <<<"$TOLLGATE_ALLOW_PRIVATE")]"
  fi
  if [[ -n "${TOLLGATE_CONNECT_PORTS:-}" ]]; then
    allow="${allow:+$allow, }connectPorts: [$TOLLGATE_CONNECT_PORTS]"
  fi
  cat <<YAML
proxy: {listen: "127.0.0.1:313$i"}
control: {listen: "127.0.0.1:909$i", token: "$(token)"}
node: {name: "node$i", dataDir: "$state/node$i", drainTimeout: "${TOLLGATE_DRAIN_TIMEOUT:-30s}", drainDelay: "${TOLLGATE_DRAIN_DELAY:-2s}"}
network: {${allow}}
accessLog: {file: "$state/node$i/access.log"}
cluster: {enabled: true, listen: "127.0.0.1:570$i", members: [${members%, }]}
YAML
  if [[ -n "${TOLLGATE_POLICY:-}" ]]; then
    echo "policy: \"$(cd "$(dirname "$TOLLGATE_POLICY")" && pwd)/$(basename "$TOLLGATE_POLICY")\""
  fi
}

haproxy_config() {
  cat <<CFG
global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout check 2s
  # A node that refuses the connection (drained, or dead before the health check noticed) is
  # skipped: the connection is retried on another node. Only a failed connect is retried: a
  # connection the node accepted and then closed unanswered cannot be (TCP mode), which is why a
  # draining node goes on accepting for node.drainDelay, past the two failed checks below.
  retries 3
  option redispatch 1
frontend proxy
  bind 127.0.0.1:$lb_port
  default_backend tollgate
backend tollgate
  balance leastconn
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
CFG
  for i in "${nodes[@]}"; do echo "  server node$i 127.0.0.1:313$i check port 909$i"; done
}

wait_ready() {
  local i=$1
  for _ in $(seq 1 300); do
    # The node's own ready line (not just the port: something else may hold it).
    if grep -q "tollgate ready" "$state/node$i.log" 2>/dev/null; then return 0; fi
    alive "$state/node$i.pid" || { say "node$i exited; its log:"; tail -n 30 "$state/node$i.log" >&2; return 1; }
    sleep 0.1
  done
  say "node$i not ready after 30 s"; return 1
}

start_node() {
  local i=$1
  if alive "$state/node$i.pid"; then say "node$i already running"; return 0; fi
  mkdir -p "$state/node$i"
  node_config "$i" > "$state/node$i.yaml"
  nohup java -Xms64m -Xmx384m -XX:+UseParallelGC \
    --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens java.management/sun.management=ALL-UNNAMED \
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
    --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
    -jar "$jar" --config "$state/node$i.yaml" > "$state/node$i.log" 2>&1 &
  echo $! > "$state/node$i.pid"
}

start() {
  command -v haproxy >/dev/null || { say "haproxy is not installed (apt-get install haproxy)"; exit 1; }
  if [[ ! -f "$jar" ]]; then
    say "building $jar"
    (cd "$root" && mvn -q -B -DskipTests package)
  fi
  mkdir -p "$state"
  start_node 1
  wait_ready 1
  start_node 2
  start_node 3
  wait_ready 2
  wait_ready 3
  if ! alive "$state/haproxy.pid"; then
    haproxy_config > "$state/haproxy.cfg"
    haproxy -c -q -f "$state/haproxy.cfg"
    haproxy -D -f "$state/haproxy.cfg" -p "$state/haproxy.pid"
  fi
  say "up: proxy 127.0.0.1:$lb_port (HAProxy) -> nodes 127.0.0.1:3131-3133; control 9091-9093; token in $state/control-token"
}

stop_pid() {
  local name=$1 file=$2
  if alive "$file"; then
    local pid; pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then say "$name did not stop in 40 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
    say "$name stopped"
  fi
  rm -f "$file"
}

stop() {
  stop_pid haproxy "$state/haproxy.pid"
  local i
  for i in "${nodes[@]}"; do stop_pid "node$i" "$state/node$i.pid" & done
  wait
}

status() {
  local i code rc=0
  for i in "${nodes[@]}"; do
    if alive "$state/node$i.pid"; then
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:909$i/readyz" || true)
      say "node$i pid $(cat "$state/node$i.pid") readyz $code"
    else
      say "node$i not running"; rc=1
    fi
  done
  if alive "$state/haproxy.pid"; then say "haproxy pid $(cat "$state/haproxy.pid") on 127.0.0.1:$lb_port"; else say "haproxy not running"; rc=1; fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
