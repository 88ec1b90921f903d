#!/usr/bin/env bash
# Tollgate vs Squid on loopback: forward req/s + p99 (wrk), CONNECT download throughput vs direct,
# CONNECT set-up rate, and RSS per idle tunnel; for Tollgate alone also authenticated vs anonymous
# forward req/s and the policy engine's decide rate (PolicyEngineBench). Prints a Markdown table and
# writes it to bench/results/latest.md. See bench/README.md. Everything listens on and talks to
# 127.0.0.1 only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
mkdir -p "$results"
rm -f "$results/mvn-build.log"

# ---- knobs (env overrides) -------------------------------------------------------------------
WRK_SECONDS="${BENCH_WRK_SECONDS:-15}"
WRK_WARMUP_SECONDS="${BENCH_WRK_WARMUP_SECONDS:-20}"
WRK_CONNS="${BENCH_WRK_CONNS:-64}"
WRK_THREADS="${BENCH_WRK_THREADS:-2}"
TUNNEL_MIB="${BENCH_TUNNEL_MIB:-256}"
TUNNEL_RUNS="${BENCH_TUNNEL_RUNS:-7}"
TUNNEL_WARMUP_RUNS="${BENCH_TUNNEL_WARMUP_RUNS:-12}"
INTEGRITY_RUNS="${BENCH_INTEGRITY_RUNS:-5}"
RATE_CONCURRENCY="${BENCH_RATE_CONCURRENCY:-32}"
RATE_SECONDS="${BENCH_RATE_SECONDS:-10}"
RATE_WARMUP_SECONDS="${BENCH_RATE_WARMUP_SECONDS:-20}"
IDLE_COUNT="${BENCH_IDLE_COUNT:-5000}"
AUTH_WARMUP_SECONDS="${BENCH_AUTH_WARMUP_SECONDS:-10}" # per policy (anonymous, then authenticated)
TOLLGATE_JAVA_OPTS="${BENCH_TOLLGATE_JAVA_OPTS:--Xms256m -Xmx1g -XX:+UseParallelGC}"
CLIENT_JAVA_OPTS="${BENCH_CLIENT_JAVA_OPTS:--Xms256m -Xmx1g}"
read -ra tg_java_opts <<<"$TOLLGATE_JAVA_OPTS"
read -ra client_java <<<"java $CLIENT_JAVA_OPTS -cp"

# ---- fixed loopback ports --------------------------------------------------------------------
HOST=127.0.0.1
NGINX_PORT=18080
TG_PORT=13128
TG_CONTROL_PORT=19090
SQUID_PORT=13129
BULK_PORT=18443  # throughput sink/source
RATE_PORT=18444  # echo server for the set-up rate
IDLE_PORT=18445  # holds idle tunnels
ALL_PORTS=("$NGINX_PORT" "$TG_PORT" "$TG_CONTROL_PORT" "$SQUID_PORT" "$BULK_PORT" "$RATE_PORT" "$IDLE_PORT")

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- tools -----------------------------------------------------------------------------------
ensure_tools() {
  local -a pkgs=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || pkgs+=(nginx-light)
  command -v squid >/dev/null || [[ -x /usr/sbin/squid ]] || pkgs+=(squid)
  command -v wrk >/dev/null || pkgs+=(wrk)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v ss >/dev/null || pkgs+=(iproute2)
  command -v java >/dev/null && command -v javac >/dev/null && command -v jcmd >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  if ((${#pkgs[@]})); then
    [[ $EUID -eq 0 ]] || die "missing packages (${pkgs[*]}); run as root or install them"
    log "installing: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
    # the Debian packages start system services on install; the bench runs its own instances
    systemctl stop nginx squid 2>/dev/null || true
  fi
}
export PATH="$PATH:/usr/sbin:/sbin"
ensure_tools

# 5,000 idle tunnels need ~10,000 descriptors in the proxy and in the client (its own sockets plus
# the target server's). Ask for 65536; in a container without CAP_SYS_RESOURCE settle for the hard limit.
if ! ulimit -n 65536 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)"
  log "WARNING: could not raise the open-file limit to 65536; using the hard limit $(ulimit -n)"
fi
(($(ulimit -n) >= 2 * IDLE_COUNT + 1000)) || die "open-file limit $(ulimit -n) is too low for $IDLE_COUNT idle tunnels"

for p in "${ALL_PORTS[@]}"; do
  if ss -Htln "sport = :$p" | grep -q .; then
    die "port $p is already in use on this machine; stop whatever listens there"
  fi
done

# ---- work dir and cleanup --------------------------------------------------------------------
work="$(mktemp -d /tmp/tollgate-bench.XXXXXX)"
chmod 755 "$work"
TG_PID="" SQUID_PID="" NGINX_STARTED="" TG_ACCESS_LOG=""
cleanup() {
  set +e
  if [[ -n "$TG_PID" ]] && kill -0 "$TG_PID" 2>/dev/null; then
    kill -TERM "$TG_PID"
    for _ in $(seq 50); do kill -0 "$TG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TG_PID" 2>/dev/null
  fi
  if [[ -n "$SQUID_PID" ]] && kill -0 "$SQUID_PID" 2>/dev/null; then
    kill -TERM "$SQUID_PID"
    for _ in $(seq 50); do kill -0 "$SQUID_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SQUID_PID" 2>/dev/null
  fi
  if [[ -n "$NGINX_STARTED" ]]; then
    nginx -c "$work/nginx/nginx.conf" -s stop 2>/dev/null
  fi
  [[ -f "$work/squid/cache.log" ]] && cp "$work/squid/cache.log" "$results/squid-cache.log"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_until() { # wait_until SECONDS DESCRIPTION CMD...
  local secs=$1 what=$2; shift 2
  local i
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $what"
}

# ---- process-tree RSS and CPU ----------------------------------------------------------------
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
rss_kib() { # sum of VmRSS over a process tree
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_ticks() { # utime+stime of a process tree, in clock ticks
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }

# ---- nginx origin ----------------------------------------------------------------------------
start_nginx() {
  local d="$work/nginx"
  mkdir -p "$d/www" "$d/body" "$d/proxy" "$d/fcgi" "$d/uwsgi" "$d/scgi"
  head -c 1024 /dev/zero | tr '\0' 'x' >"$d/www/small.html"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  keepalive_requests 1000000;
  server { listen $HOST:$NGINX_PORT; root $d/www; }
}
EOF
  chmod -R a+rX "$d"
  nginx -c "$d/nginx.conf"
  NGINX_STARTED=1
  wait_until 10 nginx curl -sf "http://$HOST:$NGINX_PORT/small.html"
}

# ---- Tollgate --------------------------------------------------------------------------------
build_tollgate() {
  local jar="$repo/node/target/tollgate.jar"
  if [[ ! -f "$jar" || -n "$(find "$repo" -path "$repo/.git" -prune -o -path "$repo/bench" -prune -o \
    \( -name pom.xml -o -path '*/src/main/*' \) -newer "$jar" -print -quit)" ]]; then
    log "building Tollgate (mvn -q -B -DskipTests package)"
    if ! (cd "$repo" && mvn -q -B -Dstyle.color=never -DskipTests package) >"$work/mvn.log" 2>&1; then
      cp "$work/mvn.log" "$results/mvn-build.log"
      grep -E 'ERROR|error:' "$work/mvn.log" | head -10 >&2 || true
      [[ -f "$jar" ]] || die "Tollgate build failed"
      log "WARNING: build failed (bench/results/mvn-build.log); benchmarking the existing (older) $jar"
      BUILD_NOTE="build failed, used an older jar"
    fi
  fi
}
start_tollgate() {
  local d="$work/tollgate"
  mkdir -p "$d/data"
  # the access log stays on (the product default writes it to stdout); a file in the work dir
  # keeps it out of tollgate.log and is deleted with the work dir
  cat >"$d/bench.yaml" <<EOF
network:
  allowPrivate: [127.0.0.0/8]
  connectPorts: [$BULK_PORT, $RATE_PORT, $IDLE_PORT]
accessLog:
  file: $d/access.log
EOF
  TG_ACCESS_LOG="$d/access.log"
  env -u TOLLGATE_CONTROL_TOKEN java "${tg_java_opts[@]}" -Xlog:gc:file="$results/tollgate-gc.log":uptime,level,tags:filecount=0 \
    -jar "$repo/node/target/tollgate.jar" --config "$d/bench.yaml" \
    --proxy-listen "$HOST:$TG_PORT" --control-listen "$HOST:$TG_CONTROL_PORT" --data-dir "$d/data" \
    >"$results/tollgate.log" 2>&1 &
  TG_PID=$!
  wait_until 60 "Tollgate /readyz" curl -sf "http://$HOST:$TG_CONTROL_PORT/readyz"
}

# ---- Squid -----------------------------------------------------------------------------------
start_squid() {
  local d="$work/squid"
  mkdir -p "$d"
  cat >"$d/squid.conf" <<EOF
http_port $HOST:$SQUID_PORT
workers 1
max_filedescriptors 65536
visible_hostname tollgate-bench
acl CONNECT method CONNECT
acl bench_connect_ports port $BULK_PORT $RATE_PORT $IDLE_PORT
http_access deny CONNECT !bench_connect_ports
http_access allow all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $d/cache.log
pid_filename $d/squid.pid
coredump_dir $d
netdb_filename none
pinger_enable off
logfile_rotate 0
shutdown_lifetime 1 second
cache_effective_user proxy
EOF
  chown -R proxy: "$d" 2>/dev/null || chmod 777 "$d"
  squid -k parse -f "$d/squid.conf" >"$d/parse.log" 2>&1 || { cat "$d/parse.log" >&2; die "bad squid.conf"; }
  squid -N -f "$d/squid.conf" >"$d/stdout.log" 2>&1 &
  SQUID_PID=$!
  wait_until 30 "Squid" curl -sf -o /dev/null -x "http://$HOST:$SQUID_PORT" "http://$HOST:$NGINX_PORT/small.html"
}

# ---- measurements ----------------------------------------------------------------------------
cat >"$work/absolute.lua" <<EOF
-- wrk talks to the proxy; absolute-form request target makes it a forward-proxy request
wrk.path = "http://$HOST:$NGINX_PORT/small.html"
wrk.headers["Host"] = "$HOST:$NGINX_PORT"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

kv() { # kv KEY LINE -> value of KEY=value in LINE
  tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'
}

declare -A R # results: R[name.metric]

wrk_warmup() { # wrk_warmup NAME PORT SECONDS [LUA]
  log "$1: wrk warm-up ${3}s"
  wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${3}s" -s "${4:-$work/absolute.lua}" "http://$HOST:$2/" >/dev/null
}

bench_wrk() { # bench_wrk NAME PORT PID: warm-up, then the measured run
  wrk_warmup "$1" "$2" "$WRK_WARMUP_SECONDS"
  wrk_measure "$@"
}

wrk_measure() { # wrk_measure NAME PORT PID [LUA]
  local name=$1 port=$2 pid=$3 lua=${4:-$work/absolute.lua} out line t0 t1
  log "$name: wrk ${WRK_SECONDS}s, $WRK_CONNS connections, $WRK_THREADS threads"
  t0=$(cpu_ticks "$pid")
  out=$(wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${WRK_SECONDS}s" --latency -s "$lua" \
    "http://$HOST:$port/")
  t1=$(cpu_ticks "$pid")
  printf '%s\n' "$out" >"$results/wrk-$name.txt"
  line=$(grep '^BENCH ' <<<"$out") || die "$name: no wrk summary"
  R[$name.requests]=$(kv requests "$line")
  R[$name.non2xx]=$(kv status "$line")
  R[$name.rps]=$(calc "$(kv requests "$line") / ($(kv duration_us "$line") / 1e6)")
  R[$name.p50]=$(calc "$(kv p50_us "$line") / 1000")
  R[$name.p99]=$(calc "$(kv p99_us "$line") / 1000")
  R[$name.wrk_errors]="connect $(kv connect "$line"), read $(kv read "$line"), write $(kv write "$line"), non-2xx $(kv status "$line"), timeout $(kv timeout "$line")"
  R[$name.wrk_cpu]=$(calc "100 * ($t1 - $t0) / $CLK_TCK / ($(kv duration_us "$line") / 1e6)")
  log "$name: $(printf '%.0f' "${R[$name.rps]}") req/s, p99 ${R[$name.p99]} ms, errors: ${R[$name.wrk_errors]}"
}

cpu_args() { # cpu_args PID -> ConnectBench options to account that process tree's CPU
  [[ -n ${1:-} ]] || return 0
  echo "--cpu-pids $(tree_pids "$1" | paste -sd,) --clk-tck $CLK_TCK"
}

bench_throughput() { # bench_throughput NAME PROXYARG [PID]
  local name=$1 line
  local -a cpu
  read -ra cpu <<<"$(cpu_args "${3:-}")"
  log "$name: CONNECT download ${TUNNEL_MIB} MiB x $TUNNEL_RUNS (after $TUNNEL_WARMUP_RUNS warm-up downloads)"
  line=$(timeout 300 "${client_java[@]}" "$work/cb" ConnectBench throughput --proxy "$2" --port "$BULK_PORT" \
    --mib "$TUNNEL_MIB" --runs "$TUNNEL_RUNS" --warmup-runs "$TUNNEL_WARMUP_RUNS" "${cpu[@]}" \
    | grep '^RESULT ') || die "$name: throughput failed"
  R[$name.mibps]=$(kv median_mibps "$line")
  R[$name.mibps_all]=$(kv all "$line")
  R[$name.tp_cpu]=$(kv proxy_cpu_pct "$line")
  R[$name.tp_failed]=$(( $(kv failed_warmup "$line") + $(kv failed "$line") ))
  log "$name: median ${R[$name.mibps]} MiB/s, runs ${R[$name.mibps_all]}, failed downloads ${R[$name.tp_failed]}"
}

bench_integrity() { # bench_integrity NAME PROXYARG: downloads with a slow, content-checking reader
  local name=$1 line
  log "$name: CONNECT download integrity, $INTEGRITY_RUNS verified downloads"
  line=$(timeout 300 "${client_java[@]}" "$work/cb" ConnectBench throughput --proxy "$2" --port "$BULK_PORT" \
    --mib "$TUNNEL_MIB" --runs "$INTEGRITY_RUNS" --warmup-runs 0 --verify true 2>"$work/integrity-$name.err" \
    | grep '^RESULT ') || die "$name: integrity check failed to run"
  R[$name.intact]=$(( INTEGRITY_RUNS - $(kv failed "$line") ))
  R[$name.integrity_errors]=$(sed -n 's/^throughput: download failed: java.io.IOException: //p' "$work/integrity-$name.err" | head -3 | awk '{printf "%s%s", (NR > 1 ? " / " : ""), $0}')
  log "$name: ${R[$name.intact]} of $INTEGRITY_RUNS downloads intact ${R[$name.integrity_errors]}"
}

bench_rate() { # bench_rate NAME PORT PID
  local name=$1 line
  local -a cpu
  read -ra cpu <<<"$(cpu_args "$3")"
  log "$name: CONNECT set-up rate, concurrency $RATE_CONCURRENCY, ${RATE_SECONDS}s (after ${RATE_WARMUP_SECONDS}s warm-up)"
  line=$(timeout 300 "${client_java[@]}" "$work/cb" ConnectBench rate --proxy "$HOST:$2" \
    --port "$RATE_PORT" --concurrency "$RATE_CONCURRENCY" --seconds "$RATE_SECONDS" \
    --warmup-seconds "$RATE_WARMUP_SECONDS" "${cpu[@]}" | grep '^RESULT ') || die "$name: rate failed"
  R[$name.tps]=$(kv tunnels_per_s "$line")
  R[$name.rate_failed]=$(kv failed "$line")
  R[$name.rate_cpu]=$(kv proxy_cpu_pct "$line")
  R[$name.rate_cpu_us]=$(kv proxy_cpu_us_per_tunnel "$line")
  log "$name: ${R[$name.tps]} tunnels/s, failed ${R[$name.rate_failed]}, proxy CPU ${R[$name.rate_cpu_us]} us/tunnel"
}

settle_memory() { # settle_memory NAME PID: for the JVM, collect garbage before reading RSS
  if [[ $1 == tollgate ]]; then
    jcmd "$2" GC.run >/dev/null
    sleep 1
  else
    sleep 1
  fi
}
heap_used_kib() { # G1/Parallel: "... total NNNK, used NNNK"
  jcmd "$1" GC.heap_info 2>/dev/null | grep -m1 -o 'used [0-9]*K' | tr -dc '0-9'
}

bench_idle() { # bench_idle NAME PORT PID
  local name=$1 port=$2 pid=$3 sync="$work/sync-$1" line cb before after hb=0 ha=0 i
  mkdir -p "$sync"
  log "$name: idle tunnels: warm-up 500, then $IDLE_COUNT held open"
  timeout 600 "${client_java[@]}" "$work/cb" ConnectBench idle --proxy "$HOST:$port" --port "$IDLE_PORT" \
    --count "$IDLE_COUNT" --warmup-count 500 --sync-dir "$sync" --max-wait 180 >"$sync/out" 2>"$sync/err" &
  cb=$!
  for ((i = 0; i < 1200; i++)); do [[ -f $sync/warm.done ]] && break; kill -0 "$cb" 2>/dev/null || break; sleep 0.1; done
  [[ -f $sync/warm.done ]] || { cat "$sync/err" >&2; die "$name: idle warm-up failed"; }
  settle_memory "$name" "$pid"
  before=$(rss_kib "$pid")
  if [[ $name == tollgate ]]; then hb=$(heap_used_kib "$pid"); fi
  touch "$sync/baseline.done"
  for ((i = 0; i < 1800; i++)); do [[ -f $sync/open.done ]] && break; kill -0 "$cb" 2>/dev/null || break; sleep 0.1; done
  [[ -f $sync/open.done ]] || { cat "$sync/err" >&2; die "$name: opening idle tunnels failed"; }
  sleep 2
  settle_memory "$name" "$pid"
  after=$(rss_kib "$pid")
  if [[ $name == tollgate ]]; then ha=$(heap_used_kib "$pid"); fi
  touch "$sync/measured.done"
  wait "$cb" || log "$name: idle client exited with $?"
  line=$(grep '^RESULT ' "$sync/out") || die "$name: no idle result"
  R[$name.idle_opened]=$(kv opened "$line")
  R[$name.idle_failed]=$(kv failed "$line")
  local n=${R[$name.idle_opened]}
  ((n > 0)) || die "$name: no idle tunnel opened"
  R[$name.rss_before]=$before
  R[$name.rss_after]=$after
  R[$name.rss_per]=$(calc "($after - $before) / $n")
  if [[ $name == tollgate ]]; then
    R[$name.heap_per]=$(calc "($ha - $hb) / $n")
    R[$name.heap_before]=$hb
    R[$name.heap_after]=$ha
  fi
  log "$name: RSS $before KiB -> $after KiB with $n tunnels = $(printf '%.1f' "${R[$name.rss_per]}") KiB/tunnel"
  sleep 2 # let the proxy tear the tunnels down before the next step
}

bench_proxy() { # bench_proxy NAME PORT PID
  local name=$1 port=$2 pid=$3
  local body
  body=$(curl -sf -x "http://$HOST:$port" "http://$HOST:$NGINX_PORT/small.html" | wc -c)
  [[ $body -eq 1024 ]] || die "$name: forward sanity check got $body bytes, expected 1024"
  bench_wrk "$name" "$port" "$pid"
  bench_throughput "$name" "$HOST:$port" "$pid"
  bench_integrity "$name" "$HOST:$port"
  bench_rate "$name" "$port" "$pid"
  bench_idle "$name" "$port" "$pid"
}

# ---- Tollgate only: authenticated vs anonymous forward requests ----------------------------
put_policy() { # put_policy JSONFILE: make it the policy in force through the control API
  local code
  code=$(curl -s -o "$work/put-policy.out" -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $(cat "$work/tollgate/data/control-token")" \
    -H 'Content-Type: application/json' --data-binary @"$1" \
    "http://$HOST:$TG_CONTROL_PORT/v1/policy") || true
  [[ $code == 200 ]] || die "PUT /v1/policy $(basename "$1") answered $code: $(head -c 300 "$work/put-policy.out")"
}
proxy_status() { # proxy_status [CURL OPTIONS]: status of one forward request through Tollgate
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://$HOST:$TG_PORT" "$@" \
    "http://$HOST:$NGINX_PORT/small.html" || true
}
access_log_lines() { # lines the access-log writer has written so far (it flushes when its queue is empty)
  sleep 1
  if [[ -f $TG_ACCESS_LOG ]]; then wc -l <"$TG_ACCESS_LOG"; else echo 0; fi
}

bench_auth() { # bench_auth PORT PID: the same wrk run with auth off, then with auth required
  local port=$1 pid=$2 hash cred s l0 l1 l2
  hash=$(printf %s 'bench-password' | java -jar "$repo/node/target/tollgate.jar" hash-password) \
    || die "tollgate hash-password failed"
  [[ $hash == '$2'[aby]'$'* ]] || die "tollgate hash-password printed '$hash', not a bcrypt hash"
  cred=$(printf %s 'bench:bench-password' | base64 -w0)
  # the two policies differ only in their auth section
  printf '{"network": {"allowPrivate": ["127.0.0.0/8"]}}\n' >"$work/policy-anon.json"
  printf '{"auth": {"required": true, "users": {"bench": "%s"}}, "network": {"allowPrivate": ["127.0.0.0/8"]}}\n' \
    "$hash" >"$work/policy-auth.json"
  { cat "$work/absolute.lua"; echo "wrk.headers[\"Proxy-Authorization\"] = \"Basic $cred\""; } >"$work/auth.lua"

  put_policy "$work/policy-auth.json"
  s=$(proxy_status); [[ $s == 407 ]] || die "auth policy in force, but a request without credentials got $s, not 407"
  s=$(proxy_status --proxy-user bench:bench-password); [[ $s == 200 ]] || die "auth policy: bench:bench-password got $s, not 200"
  put_policy "$work/policy-anon.json"
  s=$(proxy_status); [[ $s == 200 ]] || die "auth-off policy: a request without credentials got $s, not 200"

  # one warm-up for both (each policy's path gets its share), then the two measured runs back to back
  wrk_warmup tollgate-anon "$port" "$AUTH_WARMUP_SECONDS"
  put_policy "$work/policy-auth.json"
  wrk_warmup tollgate-auth "$port" "$AUTH_WARMUP_SECONDS" "$work/auth.lua"
  put_policy "$work/policy-anon.json"
  l0=$(access_log_lines)
  wrk_measure tollgate-anon "$port" "$pid"
  l1=$(access_log_lines)
  put_policy "$work/policy-auth.json"
  wrk_measure tollgate-auth "$port" "$pid" "$work/auth.lua"
  l2=$(access_log_lines)
  put_policy "$work/policy-anon.json" # auth off again, as the default policy has it
  R[tollgate-anon.log_lines]=$((l1 - l0))
  R[tollgate-auth.log_lines]=$((l2 - l1))
  ((${R[tollgate-auth.requests]} > 0)) || die "authenticated wrk run completed no request"
  log "authenticated/anonymous: $(calc "100 * ${R[tollgate-auth.rps]} / ${R[tollgate-anon.rps]}")%, authenticated non-2xx/3xx ${R[tollgate-auth.non2xx]}"
}

# ---- Tollgate only: PolicyEngine.decide rate (common/src/test/.../PolicyEngineBench.java) -------
bench_decide() {
  local out="$results/policy-engine-bench.txt" kind
  local -a mvn_test=(mvn -B -Dstyle.color=never test -pl common -Dtest=PolicyEngineBench
    -Dtollgate.bench=true -Dsurefire.failIfNoSpecifiedTests=false)
  log "PolicyEngineBench: decide with 10,000 host rules, one thread (~30 s)"
  if ! (cd "$repo" && timeout 600 "${mvn_test[@]}" -q -o) >"$out" 2>&1; then
    log "offline Maven run failed; retrying online"
    (cd "$repo" && timeout 600 "${mvn_test[@]}" -q) >"$out" 2>&1 || die "PolicyEngineBench failed: see $out"
  fi
  # lines like "mixed                                1,305,837 decisions/s" (possibly after colour codes)
  sed -i 's/\x1b\[[0-9;]*m//g' "$out"
  for kind in "exact hit" "suffix hit, depth 1" "suffix hit, depth 3, upper case" "miss" "IPv4 literal" "mixed"; do
    R["decide.$kind"]=$(awk -v k="$kind" 'index($0, k " ") && / decisions\/s$/ { v = $(NF - 1); gsub(",", "", v); print v }' "$out" | tail -1)
    [[ -n ${R["decide.$kind"]} ]] || die "PolicyEngineBench printed no figure for '$kind': see $out"
  done
  R[decide.rules]=$(sed -n 's/^(\([0-9]*\) rules;.*/\1/p' "$out" | tail -1)
  log "PolicyEngineBench: mixed ${R[decide.mixed]} decisions/s (${R[decide.rules]} rules)"
}

# ---- run -------------------------------------------------------------------------------------
BUILD_NOTE=""
started=$(date +%s)
log "work dir $work"
build_tollgate
mkdir -p "$work/cb"
javac -d "$work/cb" "$here"/Connect*.java
bench_decide # before any server starts, so nothing else competes for the CPU

start_nginx
start_tollgate
start_squid
log "nginx :$NGINX_PORT, Tollgate :$TG_PORT (pid $TG_PID), Squid :$SQUID_PORT (pid $SQUID_PID) are up"

bench_throughput direct direct
bench_integrity direct direct
bench_proxy tollgate "$TG_PORT" "$TG_PID"
bench_proxy squid "$SQUID_PORT" "$SQUID_PID"
bench_auth "$TG_PORT" "$TG_PID" # last: it changes Tollgate's policy (and puts auth off again)

# ---- report ----------------------------------------------------------------------------------
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
f0() { printf '%.0f' "$1"; }
f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
g0() { printf '%.0f' "$1" | sed -E ':a; s/^(-?[0-9]+)([0-9]{3})/\1,\2/; ta'; } # 1234567 -> 1,234,567

rps_ratio=$(calc "${R[tollgate.rps]} / ${R[squid.rps]}")
tp_ratio=$(calc "100 * ${R[tollgate.mibps]} / ${R[direct.mibps]}")
sq_tp_ratio=$(calc "100 * ${R[squid.mibps]} / ${R[direct.mibps]}")
rate_ratio=$(calc "${R[tollgate.tps]} / ${R[squid.tps]}")
auth_ratio=$(calc "100 * ${R[tollgate-auth.rps]} / ${R[tollgate-anon.rps]}")
auth_ok=$(pf "$auth_ratio >= 90 && ${R[tollgate-auth.non2xx]} == 0 && ${R[tollgate-anon.non2xx]} == 0")
decide_min_kind="" decide_min=""
for k in "exact hit" "suffix hit, depth 1" "suffix hit, depth 3, upper case" "miss" "IPv4 literal"; do
  if [[ -z $decide_min ]] || ((${R["decide.$k"]} < decide_min)); then decide_min=${R["decide.$k"]} decide_min_kind=$k; fi
done
decide_all=""
for k in "exact hit" "suffix hit, depth 1" "suffix hit, depth 3, upper case" "miss" "IPv4 literal" "mixed"; do
  decide_all+="${decide_all:+; }$k $(g0 "${R["decide.$k"]}")"
done
access_lines=0
[[ -f $TG_ACCESS_LOG ]] && access_lines=$(wc -l <"$TG_ACCESS_LOG")

mem_total=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
java_ver=$(java -version 2>&1 | head -2 | tail -1)
squid_ver=$(squid -v 2>/dev/null | sed -n "1s/^Squid Cache: //p" || true)
nginx_ver=$( (nginx -v 2>&1 || true) | sed "s/^nginx version: //")
wrk_ver=$( (wrk -v 2>&1 || true) | awk "NR == 1 {print \$2}")
tg_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
tg_dirty=""
if git -C "$repo" status --porcelain -- . ':!bench' 2>/dev/null | grep -q .; then tg_dirty=" (+uncommitted changes)"; fi

tg_log="$results/tollgate.log"
tg_problems=$(grep -cE ' (WARN|ERROR) |Exception|^\s+at ' "$tg_log" || true)

report="$work/report.md"
{
  echo "# Tollgate vs Squid — loopback benchmark"
  echo
  echo "| Metric | Tollgate | Squid | Direct | Target | Tollgate result |"
  echo "|---|---:|---:|---:|---|---|"
  echo "| Forward requests/s (wrk ${WRK_CONNS} conns, ${WRK_THREADS} threads, ${WRK_SECONDS} s, 1 KiB) | $(f0 "${R[tollgate.rps]}") | $(f0 "${R[squid.rps]}") | – | ≥ 1.5× Squid (is $(f2 "$rps_ratio")×) | $(pf "$rps_ratio >= 1.5") |"
  echo "| Forward latency p99 / p50 (ms) | $(f1 "${R[tollgate.p99]}") / $(f1 "${R[tollgate.p50]}") | $(f1 "${R[squid.p99]}") / $(f1 "${R[squid.p50]}") | – | – | – |"
  echo "| CONNECT download ${TUNNEL_MIB} MiB (MiB/s, median of ${TUNNEL_RUNS}) | $(f0 "${R[tollgate.mibps]}") | $(f0 "${R[squid.mibps]}") | $(f0 "${R[direct.mibps]}") | ≥ 90% of direct (is $(f1 "$tp_ratio")%; Squid $(f1 "$sq_tp_ratio")%) | $(pf "$tp_ratio >= 90") |"
  echo "| CONNECT tunnels set up/s (${RATE_CONCURRENCY} concurrent, ${RATE_SECONDS} s) | $(f0 "${R[tollgate.tps]}") | $(f0 "${R[squid.tps]}") | – | ≥ Squid (is $(f2 "$rate_ratio")×) | $(pf "$rate_ratio >= 1") |"
  echo "| CONNECT downloads delivered complete and intact (slow, content-checking reader) | ${R[tollgate.intact]}/${INTEGRITY_RUNS} | ${R[squid.intact]}/${INTEGRITY_RUNS} | ${R[direct.intact]}/${INTEGRITY_RUNS} | all (correctness check, not a brief target) | $(pf "${R[tollgate.intact]} == $INTEGRITY_RUNS") |"
  echo "| RSS per idle tunnel, ${IDLE_COUNT} open (KiB) | $(f1 "${R[tollgate.rss_per]}") | $(f1 "${R[squid.rss_per]}") | – | ≤ 16 KiB | $(pf "${R[tollgate.rss_per]} <= 16") |"
  echo "| Forward requests/s with Basic proxy auth required / auth off (same wrk run, back to back; access log on) | $(f0 "${R[tollgate-auth.rps]}") / $(f0 "${R[tollgate-anon.rps]}") | – | – | authenticated ≥ 90% of anonymous, all 2xx (is $(f1 "$auth_ratio")%; non-2xx ${R[tollgate-auth.non2xx]}) | $auth_ok |"
  echo "| Policy decisions/s, ${R[decide.rules]} rules (10,000 host rules), one thread (PolicyEngineBench, mixed targets) | $(g0 "${R[decide.mixed]}") | – | – | ≥ 1,000,000/s (slowest kind: $decide_min_kind $(g0 "$decide_min")) | $(pf "${R[decide.mixed]} >= 1000000") |"
  echo
  echo "Details:"
  echo
  echo "- wrk errors — Tollgate: ${R[tollgate.wrk_errors]}; Squid: ${R[squid.wrk_errors]}"
  echo "- proxy CPU during the measured part (100% = one core; wrk, nginx, the Java client/servers and the proxy share $(nproc) cores): wrk — Tollgate $(f0 "${R[tollgate.wrk_cpu]}")%, Squid $(f0 "${R[squid.wrk_cpu]}")%; download — Tollgate ${R[tollgate.tp_cpu]}%, Squid ${R[squid.tp_cpu]}%; set-up — Tollgate ${R[tollgate.rate_cpu]}% (${R[tollgate.rate_cpu_us]} µs/tunnel), Squid ${R[squid.rate_cpu]}% (${R[squid.rate_cpu_us]} µs/tunnel)"
  echo "- warm-ups before each measurement (same for both proxies; they let the JVM's JIT finish): wrk ${WRK_WARMUP_SECONDS} s, ${TUNNEL_WARMUP_RUNS} downloads, ${RATE_WARMUP_SECONDS} s of tunnel set-ups, 500 idle tunnels"
  echo "- CONNECT download runs (MiB/s) — direct ${R[direct.mibps_all]}, Tollgate ${R[tollgate.mibps_all]}, Squid ${R[squid.mibps_all]}"
  echo "- failed (short or broken) downloads during the throughput row, warm-ups included — Tollgate ${R[tollgate.tp_failed]}, Squid ${R[squid.tp_failed]}, direct ${R[direct.tp_failed]} (the median uses complete downloads only)"
  if [[ -n "${R[tollgate.integrity_errors]}${R[squid.integrity_errors]}${R[direct.integrity_errors]}" ]]; then
    echo "- integrity failures — Tollgate: ${R[tollgate.integrity_errors]:-none}; Squid: ${R[squid.integrity_errors]:-none}; direct: ${R[direct.integrity_errors]:-none}"
  fi
  echo "- CONNECT set-up failures — Tollgate ${R[tollgate.rate_failed]}, Squid ${R[squid.rate_failed]}"
  echo "- idle tunnels opened — Tollgate ${R[tollgate.idle_opened]} (failed ${R[tollgate.idle_failed]}), Squid ${R[squid.idle_opened]} (failed ${R[squid.idle_failed]})"
  echo "- RSS before → with tunnels (KiB) — Tollgate ${R[tollgate.rss_before]} → ${R[tollgate.rss_after]}; Squid (all squid processes) ${R[squid.rss_before]} → ${R[squid.rss_after]}"
  echo "- Tollgate RSS readings are taken after \`jcmd PID GC.run\` (full GC) so garbage does not count; Java heap used after GC: ${R[tollgate.heap_before]} → ${R[tollgate.heap_after]} KiB = $(f1 "${R[tollgate.heap_per]}") KiB heap per tunnel"
  echo "- Tollgate auth row: policies pushed with \`PUT /v1/policy\`, identical but for \`auth\` (\`{\"required\": true, \"users\": {\"bench\": bcrypt cost 10}}\`); wrk adds \`Proxy-Authorization: Basic\` to every request (credentials verified once, then cached). Warm-up ${AUTH_WARMUP_SECONDS} s anonymous + ${AUTH_WARMUP_SECONDS} s authenticated, then ${WRK_SECONDS} s each. p99/p50 — authenticated $(f1 "${R[tollgate-auth.p99]}") / $(f1 "${R[tollgate-auth.p50]}") ms, anonymous $(f1 "${R[tollgate-anon.p99]}") / $(f1 "${R[tollgate-anon.p50]}") ms; Tollgate CPU $(f0 "${R[tollgate-auth.wrk_cpu]}")% / $(f0 "${R[tollgate-anon.wrk_cpu]}")%; wrk errors — authenticated: ${R[tollgate-auth.wrk_errors]}; anonymous: ${R[tollgate-anon.wrk_errors]}"
  echo "- Tollgate access log on (product default, JSON) for every Tollgate measurement, written to a file in the temp dir (deleted at the end): $access_lines lines in the whole run; ${R[tollgate-anon.log_lines]} / ${R[tollgate-auth.log_lines]} during the anonymous / authenticated runs, which completed ${R[tollgate-anon.requests]} / ${R[tollgate-auth.requests]} requests"
  echo "- PolicyEngineBench (decisions/s, one thread, after a 1 s-per-kind JIT pass): $decide_all; raw output bench/results/policy-engine-bench.txt"
  echo "- Tollgate JVM: \`$TOLLGATE_JAVA_OPTS\`; log: bench/results/tollgate.log ($tg_problems WARN/ERROR/exception lines); GC log: bench/results/tollgate-gc.log"
  if [[ -n "$BUILD_NOTE" ]]; then echo "- NOTE: $BUILD_NOTE"; fi
  echo
  echo "Machine: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')); $mem_total RAM; kernel $(uname -r); $java_ver; Squid $squid_ver; $nginx_ver; wrk $wrk_ver; Tollgate $tg_rev$tg_dirty. Run took $(( $(date +%s) - started )) s."
} >"$report"

cp "$report" "$results/latest.md"
echo
cat "$report"
if [[ $tg_problems -gt 0 ]]; then
  echo
  echo "Tollgate log: $tg_problems WARN/ERROR/exception lines; the WARN/ERROR lines with the line after each:"
  grep -E -A1 ' (WARN|ERROR) ' "$tg_log" | grep -v '^--$' | head -20 || true
fi
