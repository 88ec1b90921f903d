#!/usr/bin/env bash
# Lone node vs clustered node, forward requests/s on this machine, in one run: (1) one node, (2) a
# node of a two-node Hazelcast cluster, all three nodes running at once, each side warmed up the
# same way, then measured with wrk in interleaved rounds whose order alternates (the machine's
# speed drifts over minutes; measured one after the other, the two sides differed by up to ±40%
# from drift alone). The same policy everywhere: every client has a request-rate limit (far above
# what wrk can reach), so the clustered node runs its limiter and reports usage to the other node,
# as in production. The target (issue 4): clustered ≥ 90% of lone. Writes bench/results/cluster.md.
# Loopback only. Knobs: BENCH_WRK_SECONDS (10 per round), BENCH_WRK_ROUNDS (4),
# BENCH_WRK_WARMUP_SECONDS (20), BENCH_WRK_CONNS (64).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
mkdir -p "$results"
jar="${TOLLGATE_JAR:-$repo/node/target/tollgate.jar}"
WRK_SECONDS="${BENCH_WRK_SECONDS:-10}"
WRK_ROUNDS="${BENCH_WRK_ROUNDS:-4}"
WRK_WARMUP_SECONDS="${BENCH_WRK_WARMUP_SECONDS:-20}"
WRK_CONNS="${BENCH_WRK_CONNS:-64}"
HOST=127.0.0.1
NGINX_PORT=18180
PROXY_PORT=(13141 13142 13143)
CONTROL_PORT=(19141 19142 19143)
CLUSTER_PORT=(15741 15742)
JAVA_OPTS=(-Xms256m -Xmx1g -XX:+UseParallelGC --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED --add-exports java.base/jdk.internal.ref=ALL-UNNAMED)
TOKEN=bench-cluster-token-0123456789

log() { printf '[cluster-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || die "needs wrk and nginx (apt-get install wrk nginx-light)"
[[ -f "$jar" ]] || (cd "$repo" && mvn -q -B -DskipTests package)

work="$(mktemp -d /tmp/tollgate-cluster-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$p" 2>/dev/null; done
  [[ -f "$work/nginx/nginx.pid" ]] && nginx -c "$work/nginx/nginx.conf" -s stop 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/nginx/www"
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/nginx/www/small.html"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen $HOST:$NGINX_PORT; root $work/nginx/www; }
}
NGINX
chmod -R a+rX "$work/nginx"
nginx -c "$work/nginx/nginx.conf"

# Every client limited (anonymous included): the limiter and, clustered, the usage reports run.
cat >"$work/policy.json" <<JSON
{"network": {"allowPrivate": ["127.0.0.0/8"]}, "limits": {"default": {"requestsPerSecond": 10000000, "burst": 10000000}}}
JSON
cat >"$work/absolute.lua" <<LUA
wrk.path = "http://$HOST:$NGINX_PORT/small.html"
wrk.headers["Host"] = "$HOST:$NGINX_PORT"
done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d duration_us=%d p99_us=%d errors=%d\n", summary.requests, summary.duration,
    latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
LUA

start_node() { # start_node INDEX CLUSTERED(0|1)
  local i=$1
  local d="$work/node$i"
  mkdir -p "$d"
  {
    echo "proxy: {listen: \"$HOST:${PROXY_PORT[$i]}\"}"
    echo "control: {listen: \"$HOST:${CONTROL_PORT[$i]}\", token: \"$TOKEN\"}"
    echo "node: {name: \"bench$i\", dataDir: \"$d/data\"}"
    echo "accessLog: {file: \"$d/access.log\"}"
    echo "policy: \"$work/policy.json\""
    if [[ $2 == 1 ]]; then
      echo "cluster: {enabled: true, listen: \"$HOST:${CLUSTER_PORT[$i]}\", members: [\"$HOST:${CLUSTER_PORT[0]}\", \"$HOST:${CLUSTER_PORT[1]}\"]}"
    fi
  } >"$d/config.yaml"
  java "${JAVA_OPTS[@]}" -jar "$jar" --config "$d/config.yaml" >"$d/node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do
    grep -q "tollgate ready" "$d/node.log" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { tail -20 "$d/node.log" >&2; die "node $i exited"; }
    sleep 0.1
  done
  die "node $i not ready in 60 s"
}
warm() { # warm NAME PORT
  log "$1: warm-up ${WRK_WARMUP_SECONDS}s"
  wrk -t 2 -c "$WRK_CONNS" -d "${WRK_WARMUP_SECONDS}s" -s "$work/absolute.lua" "http://$HOST:$2/" >/dev/null
}
measure() { # measure PORT -> "rps p99_ms errors"
  local line
  line=$(wrk -t 2 -c "$WRK_CONNS" -d "${WRK_SECONDS}s" --latency -s "$work/absolute.lua" "http://$HOST:$1/" | grep '^BENCH ')
  awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "%.0f %.1f %d\n", v["requests"] / (v["duration_us"] / 1e6), v["p99_us"] / 1000, v["errors"] }' <<<"$line"
}

# Nodes 0 and 1 form the cluster (node 0 is measured); node 2 runs alone.
start_node 0 1
start_node 1 1
start_node 2 0
members=$(curl -s -H "authorization: Bearer $TOKEN" "http://$HOST:${CONTROL_PORT[0]}/v1/cluster" | grep -o '"state":"ready"' | wc -l)
[[ $members == 2 ]] || die "the cluster has $members ready members, not 2"
warm lone "${PROXY_PORT[2]}"
warm clustered "${PROXY_PORT[0]}"

lone_all="" cl_all="" lone_p99s="" cl_p99s="" lone_err=0 cl_err=0 rounds_text=""
for round in $(seq "$WRK_ROUNDS"); do
  if ((round % 2)); then order="lone clustered"; else order="clustered lone"; fi
  for side in $order; do
    if [[ $side == lone ]]; then
      read -r rps p99 err < <(measure "${PROXY_PORT[2]}")
      lone_all+=" $rps" lone_p99s+=" $p99" lone_err=$((lone_err + err)) lone_rps=$rps
    else
      read -r rps p99 err < <(measure "${PROXY_PORT[0]}")
      cl_all+=" $rps" cl_p99s+=" $p99" cl_err=$((cl_err + err)) cl_rps=$rps
    fi
  done
  log "round $round: lone $lone_rps req/s, clustered $cl_rps req/s"
  rounds_text+="round $round ($order): lone $lone_rps req/s, clustered $cl_rps req/s"$'\n'
done
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", NF ? s / NF : 0 }' <<<"$1"; }
mean1() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", NF ? s / NF : 0 }' <<<"$1"; }
lone_rps=$(mean "$lone_all") cl_rps=$(mean "$cl_all") lone_p99=$(mean1 "$lone_p99s") cl_p99=$(mean1 "$cl_p99s")

ratio=$(awk -v a="$cl_rps" -v b="$lone_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 90 ? "PASS" : "FAIL") }')
{
  echo "# Lone vs clustered node — forward requests/s"
  echo
  echo "| | lone node | clustered node (2-node cluster) | target | result |"
  echo "|---|---:|---:|---|---|"
  echo "| forward req/s (wrk $WRK_CONNS conns, 1 KiB; mean of $WRK_ROUNDS × ${WRK_SECONDS} s) | $lone_rps | $cl_rps | clustered ≥ 90% of lone (is $ratio%) | $verdict |"
  echo "| p99 (ms, mean over the rounds) | $lone_p99 | $cl_p99 | – | – |"
  echo "| wrk errors | $lone_err | $cl_err | – | – |"
  echo
  printf '%s' "$rounds_text"
  echo
  echo "Same JVM options, policy (every client under a request-rate limit) and warm-up (${WRK_WARMUP_SECONDS} s); all three nodes ran throughout, the second cluster member taking the first one's usage reports. $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; Tollgate $(git -C "$repo" rev-parse --short HEAD)."
} >"$results/cluster.md"
cat "$results/cluster.md"
