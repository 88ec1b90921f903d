#!/usr/bin/env bash
# Tollgate vs mitmproxy, both intercepting, on loopback: requests/s on kept-alive intercepted
# connections, new intercepted connections/s, RSS per idle intercepted connection, and (Tollgate
# alone, in-JVM) leaf minting on a cache miss. Both proxies trust the same local test CA for the
# upstream (an nginx HTTPS origin); the client trusts only the proxy's own CA. Prints a Markdown
# table and writes it to bench/results/mitm-latest.md. Run it under the bench lock:
#   flock /tmp/tollgate-bench.lock bash bench/mitm.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
mkdir -p "$results"

# ---- knobs (env overrides) -------------------------------------------------------------------
SECONDS_MEASURED="${BENCH_MITM_SECONDS:-10}"
WARMUP_TOLLGATE="${BENCH_MITM_WARMUP_TOLLGATE:-10}" # the JIT needs load to finish on 2 cores
WARMUP_MITMPROXY="${BENCH_MITM_WARMUP_MITMPROXY:-3}" # Python: nothing to warm up
CONCURRENCY="${BENCH_MITM_CONCURRENCY:-16}"
IDLE_COUNT="${BENCH_MITM_IDLE_COUNT:-1000}"
MINT_COUNT="${BENCH_MITM_MINT_COUNT:-1000}"
TOLLGATE_JAVA_OPTS="${BENCH_TOLLGATE_JAVA_OPTS:--Xms256m -Xmx1g -XX:+UseParallelGC}"
read -ra tg_java_opts <<<"$TOLLGATE_JAVA_OPTS"
TOLLGATE_JAVA="${BENCH_TOLLGATE_JAVA:-java}" # e.g. /usr/lib/jvm/temurin-25-jdk-amd64/bin/java
CLIENT_JAVA="${BENCH_CLIENT_JAVA:-java}"     # the load client's JVM (its TLS costs CPU on the same cores)

HOST=127.0.0.1
ORIGIN_PORT=18446
TG_PORT=13130
TG_CONTROL_PORT=19091
MITM_PORT=13131
ALL_PORTS=("$ORIGIN_PORT" "$TG_PORT" "$TG_CONTROL_PORT" "$MITM_PORT")

log() { printf '[mitm-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- tools -----------------------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"
ensure_tools() {
  local -a pkgs=()
  command -v nginx >/dev/null || pkgs+=(nginx-light)
  command -v mitmdump >/dev/null || pkgs+=(mitmproxy)
  command -v openssl >/dev/null || pkgs+=(openssl)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v ss >/dev/null || pkgs+=(iproute2)
  command -v java >/dev/null && command -v javac >/dev/null && command -v jcmd >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  if ((${#pkgs[@]})); then
    [[ $EUID -eq 0 ]] || die "missing packages (${pkgs[*]}); run as root or install them"
    log "installing: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # mitmproxy is a Debian package (8.x in bookworm); nothing comes from PyPI
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null \
      || die "apt-get install ${pkgs[*]} failed (is mitmproxy packaged for this release?)"
    systemctl stop nginx 2>/dev/null || true # the package starts a system nginx; the bench runs its own
  fi
}
ensure_tools
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for p in "${ALL_PORTS[@]}"; do
  ! ss -Htln "sport = :$p" | grep -q . || die "port $p is already in use on this machine"
done

# ---- work dir and cleanup (only the processes started here) ------------------------------------
work="$(mktemp -d /tmp/tollgate-mitm-bench.XXXXXX)"
chmod 755 "$work"
TG_PID="" MITM_PID="" NGINX_STARTED=""
stop_pid() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1"
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  stop_pid "$TG_PID"
  stop_pid "$MITM_PID"
  [[ -n "$NGINX_STARTED" ]] && nginx -c "$work/nginx/nginx.conf" -s stop 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_until() { # wait_until SECONDS DESCRIPTION CMD...
  local secs=$1 what=$2 i; shift 2
  for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out after ${secs}s waiting for $what"
}
tree_pids() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done; }
rss_kib() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# ---- the upstream: nginx over TLS with a certificate from a local test CA ---------------------
make_certs() {
  local d="$work/pki"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=mitm bench upstream CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/origin-key.pem" -out "$d/origin.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$d/ext"
  openssl x509 -req -in "$d/origin.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$d/ext" -out "$d/origin.pem" 2>/dev/null
}
start_nginx() {
  local d="$work/nginx"
  mkdir -p "$d/www" "$d/body" "$d/proxy" "$d/fcgi" "$d/uwsgi" "$d/scgi"
  head -c 1024 /dev/zero | tr '\0' 'x' >"$d/www/small.html"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen $HOST:$ORIGIN_PORT ssl;
    ssl_certificate $work/pki/origin.pem;
    ssl_certificate_key $work/pki/origin-key.pem;
    root $d/www;
  }
}
EOF
  chmod -R a+rX "$d" "$work/pki"
  nginx -c "$d/nginx.conf"
  NGINX_STARTED=1
  wait_until 10 "nginx" curl -sf --cacert "$work/pki/ca.pem" "https://localhost:$ORIGIN_PORT/small.html"
}

# ---- Tollgate --------------------------------------------------------------------------------
build_tollgate() {
  local jar="$repo/node/target/tollgate.jar"
  if [[ ! -f "$jar" || -n "$(find "$repo" -path "$repo/.git" -prune -o -path "$repo/bench" -prune -o \
    \( -name pom.xml -o -path '*/src/main/*' \) -newer "$jar" -print -quit)" ]]; then
    log "building Tollgate (mvn -q -B -DskipTests package)"
    (cd "$repo" && mvn -q -B -Dstyle.color=never -DskipTests package) >"$work/mvn.log" 2>&1 \
      || { tail -20 "$work/mvn.log" >&2; die "Tollgate build failed"; }
  fi
}
start_tollgate() {
  local d="$work/tollgate"
  mkdir -p "$d/data"
  cat >"$d/policy.json" <<EOF
{"network": {"allowPrivate": ["127.0.0.0/8", "::1/128"]},
 "rules": [{"id": "intercept-bench", "action": "intercept", "hosts": ["localhost"]}]}
EOF
  cat >"$d/bench.yaml" <<EOF
network:
  allowPrivate: [127.0.0.0/8, "::1/128"]
  connectPorts: [$ORIGIN_PORT]
mitm:
  upstreamTrust: [$work/pki/ca.pem]
policy: $d/policy.json
accessLog:
  file: $d/access.log
EOF
  env -u TOLLGATE_CONTROL_TOKEN "$TOLLGATE_JAVA" "${tg_java_opts[@]}" -jar "$repo/node/target/tollgate.jar" --config "$d/bench.yaml" \
    --proxy-listen "$HOST:$TG_PORT" --control-listen "$HOST:$TG_CONTROL_PORT" --data-dir "$d/data" \
    >"$results/mitm-tollgate.log" 2>&1 &
  TG_PID=$!
  wait_until 60 "Tollgate /readyz" curl -sf "http://$HOST:$TG_CONTROL_PORT/readyz"
  TG_CA="$d/data/ca.pem"
}

# ---- mitmproxy -------------------------------------------------------------------------------
start_mitmproxy() {
  local d="$work/mitmproxy"
  mkdir -p "$d"
  # Upstream verification stays on (ssl_insecure is false by default) against the same test CA.
  mitmdump --listen-host "$HOST" --listen-port "$MITM_PORT" --set confdir="$d" \
    --set ssl_verify_upstream_trusted_ca="$work/pki/ca.pem" --set flow_detail=0 --set termlog_verbosity=warn \
    >"$results/mitm-mitmproxy.log" 2>&1 &
  MITM_PID=$!
  wait_until 30 "mitmproxy's CA" test -s "$d/mitmproxy-ca-cert.pem"
  MITM_CA="$d/mitmproxy-ca-cert.pem"
}

sanity() { # sanity NAME PORT CA: one intercepted GET with curl, checking the leaf against the proxy's CA
  local n
  n=$(curl -sf --cacert "$3" -x "http://$HOST:$2" "https://localhost:$ORIGIN_PORT/small.html" | wc -c) || true
  [[ $n -eq 1024 ]] || die "$1: intercepted sanity GET got $n bytes, expected 1024"
}

# ---- measurements ----------------------------------------------------------------------------
declare -A R

cpu_ticks() { # utime+stime of a process tree, in clock ticks
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

bench_load() { # bench_load NAME PORT CA MODE WARMUP PID
  local name=$1 line t0 t1
  log "$name: $4, $CONCURRENCY threads, ${SECONDS_MEASURED}s after ${5}s warm-up"
  t0=$(cpu_ticks "$6")
  line=$(timeout 120 "$CLIENT_JAVA" -Xms128m -Xmx512m -cp "$work/mb" MitmBench "$4" --proxy "$HOST:$2" --target "localhost:$ORIGIN_PORT" \
    --ca "$3" --concurrency "$CONCURRENCY" --seconds "$SECONDS_MEASURED" --warmup-seconds "$5" 2>"$work/$name-$4.err" \
    | grep '^RESULT ') || { cat "$work/$name-$4.err" >&2; die "$name: $4 failed"; }
  t1=$(cpu_ticks "$6")
  R[$name.$4]=$(kv per_s "$line")
  R[$name.$4_failed]=$(kv failed "$line")
  # proxy CPU per completed operation over the whole run, warm-up included: steadier than a rate
  # on a machine whose cores are shared
  R[$name.$4_cpu_us]=$(calc "1e6 * ($t1 - $t0) / $CLK_TCK / $(kv all "$line")")
  log "$name: $4 ${R[$name.$4]}/s, proxy CPU ${R[$name.$4_cpu_us]} us each, failed ${R[$name.$4_failed]} $(head -1 "$work/$name-$4.err")"
}

settle() { # settle NAME PID: a full GC for the JVM so garbage does not count
  if [[ $1 == tollgate ]]; then "$(dirname "$(readlink -f "$(command -v "$TOLLGATE_JAVA")")")/jcmd" "$2" GC.run >/dev/null; fi
  sleep 1
}

bench_idle() { # bench_idle NAME PORT CA PID
  local name=$1 pid=$4 sync="$work/sync-$1" cb before after i line
  mkdir -p "$sync"
  log "$name: idle intercepted connections: 100 warm-up, then $IDLE_COUNT held open"
  "$CLIENT_JAVA" -Xms128m -Xmx512m -cp "$work/mb" MitmBench idle --proxy "$HOST:$2" --target "localhost:$ORIGIN_PORT" --ca "$3" \
    --count "$IDLE_COUNT" --warmup-count 100 --sync-dir "$sync" >"$sync/out" 2>"$sync/err" &
  cb=$!
  for ((i = 0; i < 600; i++)); do [[ -f $sync/warm.done ]] && break; kill -0 "$cb" 2>/dev/null || break; sleep 0.1; done
  [[ -f $sync/warm.done ]] || { cat "$sync/err" >&2; die "$name: idle warm-up failed"; }
  settle "$name" "$pid"
  before=$(rss_kib "$pid")
  touch "$sync/baseline.done"
  for ((i = 0; i < 1200; i++)); do [[ -f $sync/open.done ]] && break; kill -0 "$cb" 2>/dev/null || break; sleep 0.1; done
  [[ -f $sync/open.done ]] || { cat "$sync/err" >&2; die "$name: opening idle connections failed"; }
  sleep 1
  settle "$name" "$pid"
  after=$(rss_kib "$pid")
  touch "$sync/measured.done"
  wait "$cb" || true
  line=$(grep '^RESULT ' "$sync/out") || die "$name: no idle result"
  R[$name.idle_opened]=$(kv opened "$line")
  R[$name.idle_failed]=$(kv failed "$line")
  ((R[$name.idle_opened] > 0)) || die "$name: no idle connection opened"
  R[$name.rss_before]=$before
  R[$name.rss_after]=$after
  R[$name.rss_per]=$(calc "($after - $before) / ${R[$name.idle_opened]}")
  log "$name: RSS $before -> $after KiB with ${R[$name.idle_opened]} connections = ${R[$name.rss_per]} KiB each"
  sleep 1
}

bench_mint() {
  local line
  log "leaf minting: $MINT_COUNT cache misses in-JVM (CertificateAuthority.mint, Tollgate's CA)"
  line=$("$TOLLGATE_JAVA" -Xms128m -Xmx512m -cp "$repo/node/target/tollgate.jar" "$here/MintBench.java" --ca-dir "$work/tollgate/data" \
    --count "$MINT_COUNT" --warmup 300 2>"$work/mint.err" | grep '^RESULT ') || { cat "$work/mint.err" >&2; die "MintBench failed"; }
  R[mint.median]=$(kv median_ms "$line")
  R[mint.p90]=$(kv p90_ms "$line")
  R[mint.p99]=$(kv p99_ms "$line")
  log "leaf minting: median ${R[mint.median]} ms, p90 ${R[mint.p90]} ms"
}

# ---- run -------------------------------------------------------------------------------------
started=$(date +%s)
build_tollgate
mkdir -p "$work/mb"
"$(dirname "$(readlink -f "$(command -v "$CLIENT_JAVA")")")/javac" --release 17 -d "$work/mb" "$here/MitmBench.java"
make_certs
start_nginx
start_tollgate
start_mitmproxy
sanity tollgate "$TG_PORT" "$TG_CA"
sanity mitmproxy "$MITM_PORT" "$MITM_CA"
log "nginx (TLS) :$ORIGIN_PORT, Tollgate :$TG_PORT (pid $TG_PID), mitmproxy :$MITM_PORT (pid $MITM_PID) are up"
if [[ -n "${BENCH_MITM_HOLD:-}" ]]; then # keep everything up for poking at by hand, then stop
  log "holding for ${BENCH_MITM_HOLD}s (Tollgate CA $TG_CA, mitmproxy CA $MITM_CA)"
  sleep "$BENCH_MITM_HOLD"
  exit 0
fi

bench_mint # Tollgate's CA is in its data dir now; nothing else is loaded yet
for spec in "tollgate $TG_PORT $TG_CA $TG_PID $WARMUP_TOLLGATE" "mitmproxy $MITM_PORT $MITM_CA $MITM_PID $WARMUP_MITMPROXY"; do
  read -r name port ca pid warm <<<"$spec"
  bench_load "$name" "$port" "$ca" rps "$warm" "$pid"
  bench_load "$name" "$port" "$ca" conn "$warm" "$pid"
  bench_idle "$name" "$port" "$ca" "$pid"
done

# ---- report ----------------------------------------------------------------------------------
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
f0() { printf '%.0f' "$1"; }
f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
rps_ratio=$(calc "${R[tollgate.rps]} / ${R[mitmproxy.rps]}")
conn_ratio=$(calc "${R[tollgate.conn]} / ${R[mitmproxy.conn]}")
tg_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
mitm_ver=$(mitmdump --version 2>/dev/null | awk '/^Mitmproxy:/ {print $2}')
report="$work/report.md"
{
  echo "# Tollgate vs mitmproxy — interception on loopback"
  echo
  echo "| Metric | Tollgate | mitmproxy | Target | Tollgate result |"
  echo "|---|---:|---:|---|---|"
  echo "| Requests/s on kept-alive intercepted connections ($CONCURRENCY conns, ${SECONDS_MEASURED} s, 1 KiB over TLS both sides) | $(f0 "${R[tollgate.rps]}") | $(f0 "${R[mitmproxy.rps]}") | ≥ 5× mitmproxy (is $(f2 "$rps_ratio")×) | $(pf "$rps_ratio >= 5") |"
  echo "| New intercepted connections/s (CONNECT + full TLS handshake + 1 GET, $CONCURRENCY threads) | $(f0 "${R[tollgate.conn]}") | $(f0 "${R[mitmproxy.conn]}") | ≥ 3× mitmproxy (is $(f2 "$conn_ratio")×) | $(pf "$conn_ratio >= 3") |"
  echo "| Proxy CPU per kept-alive request / per new intercepted connection (µs; 100% of a core = 1 s/s) | $(f0 "${R[tollgate.rps_cpu_us]}") / $(f0 "${R[tollgate.conn_cpu_us]}") | $(f0 "${R[mitmproxy.rps_cpu_us]}") / $(f0 "${R[mitmproxy.conn_cpu_us]}") | – | – |"
  echo "| Leaf minting on a cache miss, median / p90 / p99 (ms, EC P-256, $MINT_COUNT names) | ${R[mint.median]} / ${R[mint.p90]} / ${R[mint.p99]} | – | median < 5 ms | $(pf "${R[mint.median]} < 5") |"
  echo "| RSS per idle intercepted connection, ${IDLE_COUNT} open after one GET each (KiB) | $(f1 "${R[tollgate.rss_per]}") | $(f1 "${R[mitmproxy.rss_per]}") | ≤ 64 KiB | $(pf "${R[tollgate.rss_per]} <= 64") |"
  echo
  echo "- failed requests during the measured part — rps: Tollgate ${R[tollgate.rps_failed]}, mitmproxy ${R[mitmproxy.rps_failed]}; conn: Tollgate ${R[tollgate.conn_failed]}, mitmproxy ${R[mitmproxy.conn_failed]}"
  echo "- idle connections opened — Tollgate ${R[tollgate.idle_opened]} (failed ${R[tollgate.idle_failed]}), mitmproxy ${R[mitmproxy.idle_opened]} (failed ${R[mitmproxy.idle_failed]}); RSS before → after (KiB): Tollgate ${R[tollgate.rss_before]} → ${R[tollgate.rss_after]} (after \`jcmd GC.run\`), mitmproxy ${R[mitmproxy.rss_before]} → ${R[mitmproxy.rss_after]}"
  echo "- warm-up before each load measurement: Tollgate ${WARMUP_TOLLGATE} s (JIT), mitmproxy ${WARMUP_MITMPROXY} s; the client (bench/MitmBench.java on $("$CLIENT_JAVA" -version 2>&1 | head -1), blocking JDK TLS, ALPN http/1.1) runs on the same $(nproc) cores and its TLS costs CPU too"
  echo "- mitmproxy $mitm_ver (Debian package, \`mitmdump\`, flow_detail=0) is one Python process; Tollgate $tg_rev on $("$TOLLGATE_JAVA" -version 2>&1 | head -1), JVM \`$TOLLGATE_JAVA_OPTS\`, access log on (file)"
  echo
  echo "Machine: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; $(java -version 2>&1 | head -1). Run took $(( $(date +%s) - started )) s."
} >"$report"
cp "$report" "$results/mitm-latest.md"
echo
cat "$report"
