#!/usr/bin/env bash
# Tollgate vs nginx terminating TLS for the same plain backend (an nginx instance of its own serving
# a 1 KiB file), side by side in one run on loopback: new TLS handshakes/s (wrk with "Connection:
# close": one full handshake per request) and kept-alive HTTPS requests/s (wrk), in interleaved
# rounds. The reference nginx runs in its own processes and logs each request as Tollgate does (a
# buffered JSON line); an unlogged nginx, and an nginx terminating inside the backend's own worker
# processes (the earlier set-up), are measured for reference. Prints a Markdown table and writes it
# to bench/results/terminate.md. See bench/README.md.
#
# Usage: flock /tmp/tollgate-bench.lock bash bench/terminate.sh   (~7 minutes + a stale jar's build)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
mkdir -p "$results"

SECONDS_MEASURED="${BENCH_TLS_SECONDS:-10}"
ROUNDS="${BENCH_TLS_ROUNDS:-4}"
WARMUP_SECONDS="${BENCH_TLS_WARMUP_SECONDS:-30}"
CONNS="${BENCH_TLS_CONNS:-64}"
HANDSHAKE_CONNS="${BENCH_TLS_HANDSHAKE_CONNS:-32}"
THREADS="${BENCH_TLS_THREADS:-2}"
TOLLGATE_JAVA_OPTS="${BENCH_TOLLGATE_JAVA_OPTS:--Xms256m -Xmx1g -XX:+UseParallelGC}"
read -ra tg_java_opts <<<"$TOLLGATE_JAVA_OPTS"

HOST=127.0.0.1
BACKEND_PORT=18180
NGINX_TLS_PORT=18543
NGINX_NOLOG_PORT=18544
NGINX_SHARED_PORT=18545
TG_TLS_PORT=18443
TG_PROXY_PORT=13138
TG_CONTROL_PORT=19091

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

export PATH="$PATH:/usr/sbin:/sbin"
pkgs=()
command -v nginx >/dev/null || pkgs+=(nginx-light)
command -v wrk >/dev/null || pkgs+=(wrk)
command -v openssl >/dev/null || pkgs+=(openssl)
command -v curl >/dev/null || pkgs+=(curl)
if ((${#pkgs[@]})); then
  [[ $EUID -eq 0 ]] || die "missing packages (${pkgs[*]}); run as root or install them"
  log "installing: ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null; }
  systemctl stop nginx 2>/dev/null || true
fi
for p in "$BACKEND_PORT" "$NGINX_TLS_PORT" "$NGINX_NOLOG_PORT" "$NGINX_SHARED_PORT" "$TG_TLS_PORT" "$TG_PROXY_PORT" "$TG_CONTROL_PORT"; do
  if (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then die "port $p is already in use"; fi
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

jar="$repo/node/target/tollgate.jar"
if [[ ! -f "$jar" || -n "$(find "$repo" -path "$repo/.git" -prune -o \( -name pom.xml -o -path '*/src/main/*' \) -newer "$jar" -print -quit)" ]]; then
  log "building the node jar"
  (cd "$repo" && mvn -q -B -DskipTests package) >&2
fi

work="$(mktemp -d /tmp/tollgate-tls-bench.XXXXXX)"
chmod 755 "$work"
TG_PID="" NGINX_STARTED=""
cleanup() {
  set +e
  if [[ -n "$TG_PID" ]] && kill -0 "$TG_PID" 2>/dev/null; then
    kill -TERM "$TG_PID"
    for _ in $(seq 100); do kill -0 "$TG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TG_PID" 2>/dev/null
  fi
  for conf in $NGINX_STARTED; do nginx -c "$work/$conf.conf" -s stop 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- one EC P-256 certificate for both terminators -------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=bench.test -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" >/dev/null 2>&1
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/www/small.html"

# ---- nginx: the backend (plain) and the reference terminator (same protocols and suites) ------
# nginx_tls_server PORT LOG_DIRECTIVE: the reference terminator's server block
nginx_tls_server() {
  cat <<SERVER
  server {
    listen $HOST:$1 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_session_cache shared:SSL:10m;
    add_header Strict-Transport-Security "max-age=31536000" always;
    $2
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host \$http_host;
    }
  }
SERVER
}

# nginx_conf NAME SERVERS...: an nginx instance of its own (master, workers, pid, temp paths) with
# these server blocks, the backend upstream and the log format
nginx_conf() {
  local name=$1
  shift
  mkdir -p "$work/$name-tmp"
  cat <<CONF
worker_processes auto;
pid $work/$name.pid;
error_log $work/$name-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $work/$name-tmp/body;
  proxy_temp_path $work/$name-tmp/proxy;
  fastcgi_temp_path $work/$name-tmp/fastcgi;
  uwsgi_temp_path $work/$name-tmp/uwsgi;
  scgi_temp_path $work/$name-tmp/scgi;
  keepalive_requests 1000000;
  # The terminator logs each request as Tollgate does (a JSON line, buffered as Tollgate's writer batches).
  log_format tollgate_like escape=json '{"time":"\$time_iso8601","node":"nginx","client":"\$remote_addr:\$remote_port","method":"\$request_method","target":"https://\$http_host\$request_uri","status":\$status,"bytesUp":\$request_length,"bytesDown":\$body_bytes_sent,"durationMs":\$request_time}';
  upstream backend {
    server $HOST:$BACKEND_PORT;
    keepalive 128;
  }
$(printf '%s\n' "$@")
}
CONF
}

# The backend is an nginx instance of its own, as a terminator's backend is in a real deployment.
# Beside it runs the earlier set-up's terminator (reference row): in the backend's own worker processes.
nginx_conf backend "  server {
    listen $HOST:$BACKEND_PORT;
    root $work/www;
  }" "$(nginx_tls_server "$NGINX_SHARED_PORT" "access_log $work/nginx-shared-access.log tollgate_like buffer=64k flush=1s;")" >"$work/backend.conf"
# The reference terminators: a process of their own (as Tollgate is), logged (the target's) and unlogged.
nginx_conf terminator "$(nginx_tls_server "$NGINX_TLS_PORT" "access_log $work/nginx-access.log tollgate_like buffer=64k flush=1s;")" \
  "$(nginx_tls_server "$NGINX_NOLOG_PORT" "access_log off;")" >"$work/terminator.conf"
for conf in backend terminator; do
  nginx -c "$work/$conf.conf" -t >/dev/null 2>&1 || die "nginx $conf config invalid: $(nginx -c "$work/$conf.conf" -t 2>&1 | tail -n 2)"
  nginx -c "$work/$conf.conf"
  NGINX_STARTED+=" $conf"
done

# ---- Tollgate: one terminating listener to the same backend ----------------------------------
cat >"$work/tollgate.yaml" <<EOF
proxy: {listen: "$HOST:$TG_PROXY_PORT"}
control: {listen: "$HOST:$TG_CONTROL_PORT"}
node: {name: bench-tls, dataDir: "$work/data"}
accessLog: {file: "$work/access.log"}
terminate:
  - name: bench
    listen: $HOST:$TG_TLS_PORT
    cert: $work/cert.pem
    key: $work/key.pem
    routes: {"*": "http://$HOST:$BACKEND_PORT"}
    hsts: {maxAge: 365d}
EOF
# In a session of its own, as each nginx instance is (nginx daemonizes): with the kernel's autogroup
# scheduling (/proc/sys/kernel/sched_autogroup_enabled) CPU time is shared between sessions first,
# and a Tollgate left in this script's session would share one slice with wrk while each nginx had
# a slice of its own. (setsid runs java in place, so $! is the JVM.)
setsid java "${tg_java_opts[@]}" -jar "$jar" --config "$work/tollgate.yaml" >"$work/tollgate.log" 2>&1 &
TG_PID=$!
for _ in $(seq 600); do grep -q "tollgate ready" "$work/tollgate.log" && break; sleep 0.1; done
grep -q "tollgate ready" "$work/tollgate.log" || die "Tollgate did not start: $(tail -n 5 "$work/tollgate.log")"
engine="$(grep -o 'TLS engine [a-z]*' "$work/tollgate.log" | head -n 1 | cut -d' ' -f3)"
transport="$(grep -o 'transport=[a-z_]*' "$work/tollgate.log" | head -n 1 | cut -d= -f2)"

for port in "$NGINX_TLS_PORT" "$NGINX_NOLOG_PORT" "$NGINX_SHARED_PORT" "$TG_TLS_PORT"; do
  curl -sS -k --max-time 10 -o /dev/null "https://$HOST:$port/small.html" || die "no answer on $port"
done

# wrk_rate PORT SECONDS CONNS [extra wrk args...] -> requests/s (and errors on stderr)
wrk_rate() {
  local port=$1 secs=$2 conns=$3 out
  shift 3
  out="$(wrk -t"$THREADS" -c"$conns" -d"${secs}s" "$@" "https://$HOST:$port/small.html" 2>&1)"
  printf '%s\n' "$out" >>"$work/wrk.log"
  local errors non2xx
  errors="$(grep -o 'Socket errors:.*' <<<"$out" || true)"
  non2xx="$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<<"$out" || true)"
  [[ -z "$errors$non2xx" ]] || log "port $port: $errors $non2xx"
  awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out"
}

# cpu_ticks PID...: user + system CPU ticks the processes have used so far (all their threads)
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
CLK_TCK="$(getconf CLK_TCK)"
nginx_terminator_pids() {
  local master
  master="$(cat "$work/terminator.pid")"
  echo "$master" $(pgrep -P "$master")
}
# cpu_rate PORT SECONDS CONNS [extra wrk args...] -> "RATE CPU_US_PER_REQUEST": the terminator's own CPU (Tollgate's JVM, or the
# reference nginx instance's master and workers) per request, user and system time together
cpu_rate() {
  local port=$1 secs=$2 pids before after rate
  if [[ $port == "$TG_TLS_PORT" ]]; then pids="$TG_PID"; else pids="$(nginx_terminator_pids)"; fi
  before="$(cpu_ticks $pids)"
  rate="$(wrk_rate "$@")"
  after="$(cpu_ticks $pids)"
  awk -v r="$rate" -v s="$secs" -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN { printf "%d %.1f", r, (r > 0 ? t / hz * 1e6 / (r * s) : 0) }'
}

# The JVM compiles its hot paths during the first tens of seconds; nginx needs no warm-up beyond
# filling its caches, so it gets a short one.
log "warm-up: ${WARMUP_SECONDS}s of each kind against Tollgate, 5s against each nginx"
for port in "$NGINX_TLS_PORT" "$NGINX_NOLOG_PORT" "$NGINX_SHARED_PORT" "$TG_TLS_PORT"; do
  secs=5
  [[ $port == "$TG_TLS_PORT" ]] && secs=$WARMUP_SECONDS
  wrk_rate "$port" "$secs" "$HANDSHAKE_CONNS" -H 'Connection: close' >/dev/null
  wrk_rate "$port" "$secs" "$CONNS" >/dev/null
done

# Interleaved rounds: the machine's speed drifts over minutes (other tenants on the host), so each
# round measures every terminator back to back, the order alternates from round to round (so that
# neither side always goes first), and the rates are averaged over the rounds.
sum_hs_nginx=0 sum_hs_tg=0 sum_ka_nginx=0 sum_ka_nolog=0 sum_ka_shared=0 sum_ka_tg=0 rounds_text=""
cpus_hs_tg="" cpus_hs_nginx="" cpus_ka_tg="" cpus_ka_nginx=""
for round in $(seq "$ROUNDS"); do
  log "round $round/$ROUNDS: new handshakes/s (Connection: close, ${SECONDS_MEASURED}s, $HANDSHAKE_CONNS conns)"
  if ((round % 2)); then
    read -r hs_nginx cpu_hs_nginx <<<"$(cpu_rate "$NGINX_TLS_PORT" "$SECONDS_MEASURED" "$HANDSHAKE_CONNS" -H 'Connection: close')"
    read -r hs_tg cpu_hs_tg <<<"$(cpu_rate "$TG_TLS_PORT" "$SECONDS_MEASURED" "$HANDSHAKE_CONNS" -H 'Connection: close')"
  else
    read -r hs_tg cpu_hs_tg <<<"$(cpu_rate "$TG_TLS_PORT" "$SECONDS_MEASURED" "$HANDSHAKE_CONNS" -H 'Connection: close')"
    read -r hs_nginx cpu_hs_nginx <<<"$(cpu_rate "$NGINX_TLS_PORT" "$SECONDS_MEASURED" "$HANDSHAKE_CONNS" -H 'Connection: close')"
  fi
  log "round $round/$ROUNDS: kept-alive requests/s (${SECONDS_MEASURED}s, $CONNS conns)"
  if ((round % 2)); then
    read -r ka_nginx cpu_ka_nginx <<<"$(cpu_rate "$NGINX_TLS_PORT" "$SECONDS_MEASURED" "$CONNS")"
    read -r ka_tg cpu_ka_tg <<<"$(cpu_rate "$TG_TLS_PORT" "$SECONDS_MEASURED" "$CONNS")"
    ka_nolog="$(wrk_rate "$NGINX_NOLOG_PORT" "$SECONDS_MEASURED" "$CONNS")"
    ka_shared="$(wrk_rate "$NGINX_SHARED_PORT" "$SECONDS_MEASURED" "$CONNS")"
  else
    ka_shared="$(wrk_rate "$NGINX_SHARED_PORT" "$SECONDS_MEASURED" "$CONNS")"
    ka_nolog="$(wrk_rate "$NGINX_NOLOG_PORT" "$SECONDS_MEASURED" "$CONNS")"
    read -r ka_tg cpu_ka_tg <<<"$(cpu_rate "$TG_TLS_PORT" "$SECONDS_MEASURED" "$CONNS")"
    read -r ka_nginx cpu_ka_nginx <<<"$(cpu_rate "$NGINX_TLS_PORT" "$SECONDS_MEASURED" "$CONNS")"
  fi
  sum_hs_nginx=$((sum_hs_nginx + hs_nginx)) sum_hs_tg=$((sum_hs_tg + hs_tg))
  sum_ka_nginx=$((sum_ka_nginx + ka_nginx)) sum_ka_tg=$((sum_ka_tg + ka_tg)) sum_ka_nolog=$((sum_ka_nolog + ka_nolog)) sum_ka_shared=$((sum_ka_shared + ka_shared))
  cpus_hs_tg+=" $cpu_hs_tg" cpus_hs_nginx+=" $cpu_hs_nginx" cpus_ka_tg+=" $cpu_ka_tg" cpus_ka_nginx+=" $cpu_ka_nginx"
  rounds_text+="round $round: handshakes $hs_tg vs $hs_nginx; kept-alive $ka_tg vs $ka_nginx (unlogged nginx $ka_nolog, nginx in the backend's processes $ka_shared); terminator CPU µs per request: handshakes $cpu_hs_tg vs $cpu_hs_nginx, kept-alive $cpu_ka_tg vs $cpu_ka_nginx"$'\n'
  log "round $round: handshakes Tollgate $hs_tg / nginx $hs_nginx; kept-alive Tollgate $ka_tg / nginx $ka_nginx / unlogged nginx $ka_nolog / nginx in the backend's processes $ka_shared"
done
tg_hs=$((sum_hs_tg / ROUNDS)) nginx_hs=$((sum_hs_nginx / ROUNDS))
tg_ka=$((sum_ka_tg / ROUNDS)) nginx_ka=$((sum_ka_nginx / ROUNDS)) nolog_ka=$((sum_ka_nolog / ROUNDS)) shared_ka=$((sum_ka_shared / ROUNDS))

mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", NF ? s / NF : 0 }' <<<"$1"; }
cpu_hs_tg="$(mean "$cpus_hs_tg")" cpu_hs_nginx="$(mean "$cpus_hs_nginx")" cpu_ka_tg="$(mean "$cpus_ka_tg")" cpu_ka_nginx="$(mean "$cpus_ka_nginx")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t) ? "PASS" : "FAIL" }'; }
hs_ratio="$(ratio "$tg_hs" "$nginx_hs")"
ka_ratio="$(ratio "$tg_ka" "$nginx_ka")"
{
  echo "| Metric | Tollgate ($engine) | nginx | Tollgate / nginx | Target | Result |"
  echo "|---|---:|---:|---:|---|---|"
  echo "| New TLS handshakes/s (wrk -c$HANDSHAKE_CONNS, Connection: close; mean of $ROUNDS × ${SECONDS_MEASURED}s) | $tg_hs | $nginx_hs | $hs_ratio | ≥ 0.7 | $(verdict "$hs_ratio" 0.7) |"
  echo "| Kept-alive HTTPS requests/s (wrk -c$CONNS, 1 KiB; mean of $ROUNDS × ${SECONDS_MEASURED}s; both log each request) | $tg_ka | $nginx_ka | $ka_ratio | ≥ 0.9 | $(verdict "$ka_ratio" 0.9) |"
  echo "| Kept-alive, against nginx with \`access_log off\` (reference, no target) | $tg_ka | $nolog_ka | $(ratio "$tg_ka" "$nolog_ka") | – | – |"
  echo "| Kept-alive, against nginx terminating in the backend's own worker processes (reference, no target) | $tg_ka | $shared_ka | $(ratio "$tg_ka" "$shared_ka") | – | – |"
  echo "| Terminator CPU per new handshake, µs (user + system; reference, no target) | $cpu_hs_tg | $cpu_hs_nginx | $(ratio "$cpu_hs_tg" "$cpu_hs_nginx") | – | – |"
  echo "| Terminator CPU per kept-alive request, µs (user + system; reference, no target) | $cpu_ka_tg | $cpu_ka_nginx | $(ratio "$cpu_ka_tg" "$cpu_ka_nginx") | – | – |"
  echo
  printf '%s' "$rounds_text"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; $(java -version 2>&1 | head -n 1); $(nginx -v 2>&1); wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null); Tollgate $(git -C "$repo" rev-parse --short HEAD 2>/dev/null), transport $transport; TLS 1.3, EC P-256 certificate; both terminators on $HOST with ${THREADS} wrk threads; each terminator in a session of its own (kernel autogroup scheduling: $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a))."
} | tee "$results/terminate.md"
