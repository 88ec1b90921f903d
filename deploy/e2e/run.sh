#!/usr/bin/env bash
# End-to-end suite for Tollgate: one node in front of an nginx origin (plain and TLS), all on
# 127.0.0.1, exercised with curl. Prints "ok - ..." / "not ok - ..." per check and ends with
# "N passed, M failed"; exits non-zero when any check failed or the setup broke.
#
# Usage: deploy/e2e/run.sh            (from any directory)
# Environment (all optional):
#   TOLLGATE_JAR=FILE     run this jar instead of building node/target/tollgate.jar
#   E2E_PROXY_PORT, E2E_PROXY_TLS_PORT, E2E_CONTROL_PORT, E2E_ORIGIN_PORT, E2E_ORIGIN_TLS_PORT,
#   E2E_DEAD_PORT         the 127.0.0.1 ports used (defaults 23128 23129 29090 28080 28443 28999)
#   E2E_KEEP=1            keep the temp dir (logs, configs) for inspection
# The checks pass scripts in single quotes to `bash -c` on purpose:
# shellcheck disable=SC2016
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 2

# Only loopback traffic, and never through a proxy the environment may configure.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

HOST=127.0.0.1
PROXY_PORT="${E2E_PROXY_PORT:-23128}"
PROXY_TLS_PORT="${E2E_PROXY_TLS_PORT:-23129}"
CONTROL_PORT="${E2E_CONTROL_PORT:-29090}"
ORIGIN_PORT="${E2E_ORIGIN_PORT:-28080}"
ORIGIN_TLS_PORT="${E2E_ORIGIN_TLS_PORT:-28443}"
DEAD_PORT="${E2E_DEAD_PORT:-28999}" # allowed for CONNECT, nothing listens there
NODE_NAME=e2e-node

PROXY="http://$HOST:$PROXY_PORT"
TLS_PROXY="https://$HOST:$PROXY_TLS_PORT"
CONTROL="http://$HOST:$CONTROL_PORT"
ORIGIN="http://$HOST:$ORIGIN_PORT"
ORIGIN_TLS="https://$HOST:$ORIGIN_TLS_PORT"

passed=0
failed=0
tmp=""
nginx_pid=""
tg_pid=""
tg_log=""
bg_pids=()

log() { printf '# %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() {
  failed=$((failed + 1))
  printf 'not ok - %s\n' "$1"
  shift
  local line
  for line in "$@"; do printf '#   %s\n' "$line"; done
}
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
  local desc="$1"
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc" "${detail:-}"; fi
  detail=""
}
detail=""
die() {
  not_ok "setup: $*"
  exit 2
}

# curl with bounded time, no ~/.curlrc, quiet but showing errors. The connect timeout is generous
# because it includes the TLS handshake with the proxy, and the first one in a cold JVM on a busy
# machine has been seen to take several seconds.
c() { curl -q -sS --connect-timeout 20 --max-time 30 "$@"; }

# ---------------------------------------------------------------------------------------------
# Cleanup and summary: always runs. Stopping the node is itself a check (SIGTERM -> drain, with
# node.drainTimeout 3 s for open tunnels, then exit 0; < 10 s).

stop_tollgate() {
  [[ -n "$tg_pid" ]] || return 0
  local pid="$tg_pid"
  tg_pid=""
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    not_ok "node still running at shutdown" "it had already exited with $? (see its log)"
    return
  fi
  local start=$SECONDS i
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    not_ok "SIGTERM stops the node with exit code 0 within 10 s" "still running after 10 s; killed"
    return
  fi
  wait "$pid" 2>/dev/null
  local rc=$?
  if [[ $rc -eq 0 ]]; then
    ok "SIGTERM stops the node with exit code 0 within 10 s ($((SECONDS - start)) s)"
  else
    not_ok "SIGTERM stops the node with exit code 0 within 10 s" "exit code $rc"
  fi
}

finish() {
  local status=$?
  trap - EXIT INT TERM
  stop_tollgate
  local p
  for p in "${bg_pids[@]}"; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  if [[ -n "$nginx_pid" ]]; then
    kill -QUIT "$nginx_pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null
    wait "$nginx_pid" 2>/dev/null
  fi
  if ((failed > 0)) && [[ -n "$tg_log" && -f "$tg_log" ]]; then
    log "last lines of the node's log ($tg_log):"
    tail -n 40 "$tg_log" | sed 's/^/#   /'
  fi
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "${E2E_KEEP:-}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  if ((passed + failed > 0)); then
    printf '%d passed, %d failed\n' "$passed" "$failed"
  fi
  if ((status == 0 && failed > 0)); then status=1; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Tools

need=()
for cmd in nginx curl openssl sha256sum timeout; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if ((${#need[@]} > 0)); then
  pkgs=()
  for cmd in "${need[@]}"; do
    case "$cmd" in
      nginx) pkgs+=(nginx-light) ;;
      sha256sum | timeout) pkgs+=(coreutils) ;;
      *) pkgs+=("$cmd") ;;
    esac
  done
  [[ $(id -u) -eq 0 ]] || die "missing ${need[*]}: install ${pkgs[*]} (needs root)"
  log "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null || die "apt-get install ${pkgs[*]} failed"
fi
# (Installing nginx may start Debian's default site on port 80; this suite uses its own config
# and ports and leaves that service alone.)
command -v java >/dev/null 2>&1 || die "java not found (Java 17 is required)"

# ---------------------------------------------------------------------------------------------
# Ports: every one we listen on must be free, and nothing may listen on the "dead" port.

listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
for p in "$PROXY_PORT" "$PROXY_TLS_PORT" "$CONTROL_PORT" "$ORIGIN_PORT" "$ORIGIN_TLS_PORT" "$DEAD_PORT"; do
  if listening "$p"; then
    die "port $HOST:$p is already in use (another run still going? set E2E_*_PORT to move it)"
  fi
done

# ---------------------------------------------------------------------------------------------
# The node jar

if [[ -n "${TOLLGATE_JAR:-}" ]]; then
  jar="$TOLLGATE_JAR"
  [[ -f "$jar" ]] || die "TOLLGATE_JAR=$jar does not exist"
  launch=(java -Xms64m -Xmx512m -jar "$jar")
else
  jar="$root/node/target/tollgate.jar"
  # ./tollgate builds the jar when it is missing or older than the sources.
  "$root/tollgate" --help >/dev/null || die "./tollgate --help failed (build broken?)"
  [[ -f "$jar" ]] || die "no $jar after building"
  launch=("$root/tollgate")
fi

# ---------------------------------------------------------------------------------------------
# The origin: nginx, plain and TLS

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e.XXXXXX")" || die "mktemp failed"
chmod 755 "$tmp" # nginx workers may run as another user
mkdir -p "$tmp/nginx/www/upload" "$tmp/data" "$tmp/out"
chmod 777 "$tmp/nginx/www/upload"
www="$tmp/nginx/www"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp/nginx/key.pem" -out "$tmp/nginx/cert.pem" -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 || die "openssl req failed"
origin_ca="$tmp/nginx/cert.pem"

printf 'hello from the tollgate e2e origin\n' >"$www/index.html"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$www/10m.bin"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$tmp/upload.bin"
cp "$tmp/upload.bin" "$www/3m.bin"
chmod 644 "$www/index.html" "$www/10m.bin" "$www/3m.bin"

cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_max_body_size 64m;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen $HOST:$ORIGIN_PORT;
    http2 off;
    root $www;
    location /echo {
      return 200 "\$request_method \$request_uri via=\$http_via xff=\$http_x_forwarded_for pa=\$http_proxy_authorization xfoo=\$http_x_foo conn=\$http_connection\n";
    }
    location /upload/ {
      dav_methods PUT;
      create_full_put_path on;
    }
    location /slow/ {
      alias $www/;
      limit_rate 1m;
    }
  }
  server {
    listen $HOST:$ORIGIN_TLS_PORT ssl;
    ssl_certificate $tmp/nginx/cert.pem;
    ssl_certificate_key $tmp/nginx/key.pem;
    root $www;
    location /slow/ {
      alias $www/;
      limit_rate 100k;
    }
  }
}
EOF
# "http2 off" only exists in newer nginx; drop it when this one does not know it.
if ! nginx -t -c "$tmp/nginx/nginx.conf" >/dev/null 2>&1; then
  sed -i '/http2 off;/d' "$tmp/nginx/nginx.conf"
fi
nginx -t -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/test.log" 2>&1 || { cat "$tmp/nginx/test.log" >&2; die "bad nginx config"; }
nginx -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/stdout.log" 2>&1 &
nginx_pid=$!
for ((i = 0; i < 50; i++)); do
  c --noproxy '*' -o /dev/null "$ORIGIN/index.html" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$tmp/nginx/stdout.log" "$tmp/nginx/error.log" >&2 2>/dev/null; die "nginx exited"; }
  sleep 0.1
done
c --noproxy '*' -o /dev/null "$ORIGIN/index.html" || die "nginx does not answer on $ORIGIN"
c --noproxy '*' --cacert "$origin_ca" -o /dev/null "$ORIGIN_TLS/index.html" || die "nginx does not answer on $ORIGIN_TLS"

# ---------------------------------------------------------------------------------------------
# The node

cat >"$tmp/tollgate.yaml" <<EOF
node:
  name: $NODE_NAME
  dataDir: $tmp/data
  drainTimeout: 3s
network:
  allowPrivate: [127.0.0.0/8]
  connectPorts: [443, $ORIGIN_TLS_PORT, $DEAD_PORT]
timeouts:
  connect: 2s
  header: 2s
mitm:
  upstreamTrust: [$tmp/nginx/cert.pem]
EOF
tg_log="$tmp/tollgate.log"
log "starting: ${launch[*]} --config $tmp/tollgate.yaml --proxy-listen $HOST:$PROXY_PORT ..."
"${launch[@]}" --config "$tmp/tollgate.yaml" \
  --proxy-listen "$HOST:$PROXY_PORT" \
  --proxy-tls-listen "$HOST:$PROXY_TLS_PORT" \
  --control-listen "$HOST:$CONTROL_PORT" \
  >"$tg_log" 2>&1 </dev/null &
tg_pid=$!

ready=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  if [[ "$(c --max-time 2 -o /dev/null -w '%{http_code}' "$CONTROL/readyz" 2>/dev/null)" == 200 ]]; then
    ready=1
    break
  fi
  if ! kill -0 "$tg_pid" 2>/dev/null; then
    wait "$tg_pid"
    rc=$?
    tg_pid=""
    cat "$tg_log" >&2
    die "the node exited with $rc before it was ready"
  fi
  sleep 0.1
done
[[ -n "$ready" ]] || die "the node was not ready within 60 s"

check "the node logs 'tollgate ready:'" grep -q 'tollgate ready:' "$tg_log"

# ---------------------------------------------------------------------------------------------
# Checks

out="$tmp/out"
code() { cat "$out/code" 2>/dev/null; }
has_header() { grep -qi "^$1:" "$2"; }

# 1. Forward GET
c -x "$PROXY" -D "$out/h1" -o "$out/b1" -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "forward GET returns 200 and the origin's body" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b1" "$www/index.html"
detail="$(tr -d '\r' <"$out/h1" | tr '\n' '|')"
check "forward GET response carries Via" has_header via "$out/h1"

# 2. Forward of a 10 MiB file, byte-exact
sha_www="$(sha256sum <"$www/10m.bin" | cut -d' ' -f1)"
c -x "$PROXY" -o "$out/10m" -w '%{http_code}' "$ORIGIN/10m.bin" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "forward GET of 10 MiB is byte-exact (sha256)" \
  bash -c '[[ "$(cat "$1")" == 200 && "$(sha256sum <"$2" | cut -d" " -f1)" == "$3" ]]' _ "$out/code" "$out/10m" "$sha_www"

# A response that takes longer than timeouts.header (2 s) from the connection's start: ~3 s.
c -x "$PROXY" -o "$out/3m" -w '%{http_code}' "$ORIGIN/slow/3m.bin" >"$out/code" 2>"$out/err"
detail="status $(code), got $(stat -c %s "$out/3m" 2>/dev/null) of $(stat -c %s "$www/3m.bin") bytes, $(cat "$out/err")"
check "forward GET that lasts longer than the header timeout (3 MiB at 1 MiB/s) is byte-exact" \
  cmp -s "$out/3m" "$www/3m.bin"

# 3. Uploads: POST of a few MiB (nginx answers and discards it), PUT byte-exact (nginx DAV)
c -x "$PROXY" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/upload.bin" \
  -o "$out/b3" -w '%{http_code}' "$ORIGIN/echo" >"$out/code" 2>"$out/err"
detail="status $(code), body $(cat "$out/b3" 2>/dev/null), $(cat "$out/err")"
check "forward POST of 3 MiB returns 200" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && grep -q "^POST /echo " "$2"' _ "$out/code" "$out/b3"

sha_up="$(sha256sum <"$tmp/upload.bin" | cut -d' ' -f1)"
put_roundtrip() { # NAME CURL-ARGS...: PUT through the proxy, read back directly from nginx
  local name="$1"
  shift
  c -x "$PROXY" -T "$tmp/upload.bin" "$@" -o /dev/null -w '%{http_code}' "$ORIGIN/upload/$name" >"$out/code" 2>"$out/err"
  detail="status $(code), $(cat "$out/err")"
  [[ "$(code)" == 201 || "$(code)" == 204 ]] || return 1
  [[ "$(c --noproxy '*' "$ORIGIN/upload/$name" | sha256sum | cut -d' ' -f1)" == "$sha_up" ]] || {
    detail="stored file differs from the upload"
    return 1
  }
}
check "forward PUT of 3 MiB (Content-Length) arrives byte-exact" put_roundtrip cl.bin
check "forward PUT of 3 MiB (chunked) arrives byte-exact" put_roundtrip chunked.bin -H 'Transfer-Encoding: chunked'

# 4. Hop-by-hop headers are dropped, Via added, client address not revealed by default
c -x "$PROXY" -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' -H 'Connection: X-Foo' -H 'X-Foo: 1' \
  -o "$out/b4" -w '%{http_code}' "$ORIGIN/echo" >"$out/code" 2>"$out/err"
b4="$(cat "$out/b4" 2>/dev/null)"
detail="status $(code), origin saw: $b4 $(cat "$out/err")"
check "origin sees Via naming the node" bash -c '[[ "$1" == *"via="*"'"$NODE_NAME"'"* ]]' _ "$b4"
detail="origin saw: $b4"
check "origin sees no X-Forwarded-For by default" bash -c '[[ "$1" == *"xff= pa="* ]]' _ "$b4"
detail="origin saw: $b4"
check "Proxy-Authorization is not forwarded" bash -c '[[ "$1" == *"pa= xfoo="* ]]' _ "$b4"
detail="origin saw: $b4"
check "a header named in Connection (X-Foo) is not forwarded" bash -c '[[ "$1" == *"xfoo= conn="* ]]' _ "$b4"

c -x "$PROXY" -H "Via: 1.1 $NODE_NAME (tollgate)" -D "$out/h4" -o /dev/null -w '%{http_code}' "$ORIGIN/echo" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "a request whose Via already names this node is refused (403 loop)" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason:.*loop" "$2"' _ "$out/code" "$out/h4"

# 5. CONNECT to the TLS origin
c -p -x "$PROXY" --cacert "$origin_ca" -o "$out/b5" -w '%{http_connect} %{http_code}' \
  "$ORIGIN_TLS/index.html" >"$out/code" 2>"$out/err"
detail="CONNECT/GET status $(code), $(cat "$out/err")"
check "CONNECT tunnel to the TLS origin: 200 and the body" \
  bash -c '[[ "$(cat "$1")" == "200 200" ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b5" "$www/index.html"
c -x "$PROXY" --cacert "$origin_ca" -o "$out/10m-tls" -w '%{http_connect} %{http_code}' \
  "$ORIGIN_TLS/10m.bin" >"$out/code" 2>"$out/err"
detail="CONNECT/GET status $(code), $(cat "$out/err")"
check "10 MiB through a CONNECT tunnel is byte-exact (sha256)" \
  bash -c '[[ "$(cat "$1")" == "200 200" && "$(sha256sum <"$2" | cut -d" " -f1)" == "$3" ]]' _ "$out/code" "$out/10m-tls" "$sha_www"

# 6. The HTTPS proxy listener with its generated certificate
proxy_ca="$tmp/data/proxy-tls-cert.pem"
detail="no $proxy_ca"
check "the TLS listener's self-signed certificate is in the data dir" test -s "$proxy_ca"
c --proxy "$TLS_PROXY" --proxy-cacert "$proxy_ca" -o "$out/b6" -w '%{http_code}' \
  "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "HTTPS proxy: forward GET of an http URL" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b6" "$www/index.html"
c --proxy "$TLS_PROXY" --proxy-cacert "$proxy_ca" --cacert "$origin_ca" -o "$out/b6s" \
  -w '%{http_connect} %{http_code}' "$ORIGIN_TLS/index.html" >"$out/code" 2>"$out/err"
detail="CONNECT/GET status $(code), $(cat "$out/err")"
check "HTTPS proxy: CONNECT inside TLS to an https URL" \
  bash -c '[[ "$(cat "$1")" == "200 200" ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b6s" "$www/index.html"
c --proxy "$TLS_PROXY" --proxy-cacert "$proxy_ca" -T "$tmp/upload.bin" -o /dev/null -w '%{http_code}' \
  "$ORIGIN/upload/tls.bin" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "HTTPS proxy: forward PUT of 3 MiB arrives byte-exact" \
  bash -c '[[ "$(cat "$1")" == 201 ]] && cmp -s "$2" "$3"' _ "$out/code" "$www/upload/tls.bin" "$tmp/upload.bin"

# 7. h2c with prior knowledge to the plain listener. curl 7.x ignores --http2-prior-knowledge
# together with -x ("Ignoring HTTP/2 prior knowledge due to proxy") and speaks HTTP/1.1, so the
# proxy request is sent directly in its h2 form: :scheme http, :authority = the target (from Host).
h2c() { c --http2-prior-knowledge -H "Host: $HOST:$ORIGIN_PORT" "$@"; }
h2c -D "$out/h7" -o "$out/b7" -w '%{http_code} %{http_version}' \
  "$PROXY/index.html" >"$out/code" 2>"$out/err"
detail="status/version $(code), $(cat "$out/err")"
check "h2c prior knowledge: forward GET over HTTP/2" \
  bash -c '[[ "$(cat "$1")" == "200 2" ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b7" "$www/index.html"
detail="$(tr -d '\r' <"$out/h7" | tr '\n' '|')"
check "h2c response carries Via" has_header via "$out/h7"
h2c -o "$out/b7big" -w '%{http_code} %{http_version}' "$PROXY/10m.bin" >"$out/code" 2>"$out/err"
detail="status/version $(code), $(cat "$out/err")"
check "h2c: 10 MiB is byte-exact (sha256)" \
  bash -c '[[ "$(cat "$1")" == "200 2" && "$(sha256sum <"$2" | cut -d" " -f1)" == "$3" ]]' _ "$out/code" "$out/b7big" "$sha_www"
h2c -T "$tmp/upload.bin" -o /dev/null -w '%{http_code} %{http_version}' "$PROXY/upload/h2c.bin" >"$out/code" 2>"$out/err"
detail="status/version $(code), $(cat "$out/err")"
check "h2c: PUT of 3 MiB arrives byte-exact" \
  bash -c '[[ "$(cat "$1")" == "201 2" ]] && cmp -s "$2" "$3"' _ "$out/code" "$www/upload/h2c.bin" "$tmp/upload.bin"

# Request-smuggling vectors are refused with 400, also on the first request of a connection.
raw() { # PART... (printf formats): the first line of the answer on a fresh connection; the parts
  # are written 0.2 s apart, so they reach the proxy as separate reads.
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    shift 2
    printf "$1" >&3
    shift
    for part in "$@"; do sleep 0.2; printf "$part" >&3; done
    head -n 1 <&3' _ "$HOST" "$PROXY_PORT" "$@" 2>/dev/null | tr -d '\r'
}
first="$(raw "GET $ORIGIN/echo HTTP/1.1\r\nHost: $HOST:$ORIGIN_PORT\r\nX-A: 1\r\n  folded\r\n\r\n")"
detail="answer: ${first:-none}"
check "an obs-fold header on a connection's first request: 400" bash -c '[[ "$1" == "HTTP/1.1 400 "* ]]' _ "$first"
# The same with the request line in its own read and the folded line within the next read's
# first bytes (as TCP may deliver it).
first="$(raw "GET $ORIGIN/echo HTTP/1.1\r\n" "Host: $HOST:$ORIGIN_PORT\r\nX-A: 1\r\n  folded\r\n\r\n")"
detail="answer: ${first:-none}"
check "an obs-fold header arriving after the request line in a separate read: 400" bash -c '[[ "$1" == "HTTP/1.1 400 "* ]]' _ "$first"
first="$(raw "POST $ORIGIN/echo HTTP/1.1\r\nHost: $HOST:$ORIGIN_PORT\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")"
detail="answer: ${first:-none}"
check "Content-Length with Transfer-Encoding on a connection's first request: 400" bash -c '[[ "$1" == "HTTP/1.1 400 "* ]]' _ "$first"

# 8. Denials
c -p -x "$PROXY" -D "$out/h8a" -o /dev/null -w '%{http_connect}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
rc=$?
detail="curl exit $rc, CONNECT status $(code), $(cat "$out/err")"
check "CONNECT to a port not in connectPorts: 403" bash -c '[[ "$(cat "$1")" == 403 ]]' _ "$out/code"

c -x "$PROXY" -D "$out/h8b" -o /dev/null -w '%{http_code}' "http://10.0.0.1/" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h8b" | tr '\n' '|') $(cat "$out/err")"
check "forward to a private address (10.0.0.1): 403 with X-Tollgate-Reason" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason: *[^ ]" "$2"' _ "$out/code" "$out/h8b"

c -p -x "$PROXY" -o /dev/null -w '%{http_connect}' "https://10.0.0.1:443/" >"$out/code" 2>"$out/err"
detail="CONNECT status $(code), $(cat "$out/err")"
check "CONNECT to a private address (10.0.0.1:443): 403" bash -c '[[ "$(cat "$1")" == 403 ]]' _ "$out/code"

c -x "$PROXY" -D "$out/h8c" -o /dev/null -w '%{http_code}' "$PROXY/" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h8c" | tr '\n' '|') $(cat "$out/err")"
check "the proxy's own address as target: 403 (loop)" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason:.*loop" "$2"' _ "$out/code" "$out/h8c"

c -x "$PROXY" -o /dev/null -w '%{http_code}' "http://$HOST:$PROXY_TLS_PORT/" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "the proxy's own TLS listener as target: 403 (loop)" bash -c '[[ "$(cat "$1")" == 403 ]]' _ "$out/code"

# 9. Nothing listening upstream
c -p -x "$PROXY" -o /dev/null -w '%{http_connect}' "https://$HOST:$DEAD_PORT/" >"$out/code" 2>"$out/err"
detail="CONNECT status $(code), $(cat "$out/err")"
check "CONNECT to a port where nothing listens: 502" bash -c '[[ "$(cat "$1")" == 502 ]]' _ "$out/code"
c -x "$PROXY" -D "$out/h9" -o /dev/null -w '%{http_code}' "http://$HOST:$DEAD_PORT/" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "forward GET to a port where nothing listens: 502 with X-Tollgate-Reason" \
  bash -c '[[ "$(cat "$1")" == 502 ]] && grep -qi "^X-Tollgate-Reason:" "$2"' _ "$out/code" "$out/h9"

# 10. Tunnel listing and kill
# The control API's /v1 needs the bearer token the node generated in its data dir.
TOKEN="$(cat "$tmp/data/control-token" 2>/dev/null || true)"
AUTH=(-H "Authorization: Bearer $TOKEN")
check "the node generated a control token (mode 0600)" test "$(stat -c %a "$tmp/data/control-token" 2>/dev/null)" = 600
check "GET /v1/tunnels without the token: 401" test "$(c --max-time 5 -o /dev/null -w '%{http_code}' "$CONTROL/v1/tunnels" 2>&1)" = 401
tunnels() { c --max-time 5 "${AUTH[@]}" "$CONTROL/v1/tunnels"; }
# The id of the listed tunnel to TARGET (the objects in the list are flat).
tunnel_id() { tunnels | grep -o "{[^{}]*\"target\":\"$1\"[^{}]*}" | head -n 1 | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'; }
wait_no_tunnels() { # up to 5 s
  local j
  for ((j = 0; j < 50; j++)); do
    [[ "$(tunnels | tr -d ' ')" == *'"tunnels":[]'* ]] && return 0
    sleep 0.1
  done
  detail="listing: $(tunnels)"
  return 1
}
check "no tunnels are listed before the tunnel test" wait_no_tunnels

# The origin sends slowly (100 KiB/s): a client-side --limit-rate would let the kernel buffers fill
# with megabytes that the client still reads after the kill (the close is graceful by design).
c --max-time 60 -p -x "$PROXY" --cacert "$origin_ca" -o /dev/null \
  "$ORIGIN_TLS/slow/10m.bin" 2>"$out/err10" &
slow_pid=$!
bg_pids+=("$slow_pid")
tid=""
for ((i = 0; i < 50; i++)); do # up to 5 s
  tid="$(tunnel_id "$HOST:$ORIGIN_TLS_PORT")"
  [[ -n "$tid" ]] && break
  sleep 0.1
done
detail="listing: $(tunnels)"
check "an open CONNECT tunnel is listed in GET /v1/tunnels" test -n "$tid"
sleep 0.5
listing="$(tunnels)"
detail="listing: $listing"
check "the listing names the node, the client's ip:port and bytes relayed so far" bash -c '
  [[ "$1" == *"\"node\":\"$2\""* && "$1" =~ \"client\":\"127\.0\.0\.1:[0-9]+\" ]] &&
  [[ "$1" =~ \"bytesDown\":([0-9]+) ]] && (( BASH_REMATCH[1] > 0 ))' _ "$listing" "$NODE_NAME"

if [[ -n "$tid" ]]; then
  del="$(c --max-time 5 "${AUTH[@]}" -X DELETE -o /dev/null -w '%{http_code}' "$CONTROL/v1/tunnels/$tid" 2>&1)"
  detail="DELETE answered $del"
  check "DELETE /v1/tunnels/{id} answers 200" test "$del" = 200
  slow_done=""
  for ((i = 0; i < 50; i++)); do # up to 5 s
    kill -0 "$slow_pid" 2>/dev/null || { slow_done=1; break; }
    sleep 0.1
  done
  if [[ -n "$slow_done" ]]; then
    wait "$slow_pid"
    slow_rc=$?
    detail="curl exited $slow_rc: $(cat "$out/err10")"
    check "the killed tunnel's client sees the transfer fail" test "$slow_rc" -ne 0
  else
    not_ok "the killed tunnel's client sees the transfer fail" "curl still running 5 s after the DELETE"
  fi
  kill "$slow_pid" 2>/dev/null && wait "$slow_pid" 2>/dev/null
  check "the listing is empty after the kill" wait_no_tunnels
  del="$(c --max-time 5 "${AUTH[@]}" -X DELETE -o /dev/null -w '%{http_code}' "$CONTROL/v1/tunnels/$tid" 2>&1)"
  detail="DELETE answered $del"
  check "DELETE of a tunnel that is gone: 404" test "$del" = 404
else
  not_ok "DELETE /v1/tunnels/{id} closes the tunnel" "skipped: no tunnel id"
  kill "$slow_pid" 2>/dev/null && wait "$slow_pid" 2>/dev/null
fi

# 11. Health
for ep in healthz readyz; do
  st="$(c -o /dev/null -w '%{http_code}' "$CONTROL/$ep" 2>&1)"
  detail="status $st"
  check "/$ep answers 200" test "$st" = 200
done

# 12. Policy: pushed through the control API, enforced at once; restored to allow-all at the end.
policy_put() { # FILE [CURL-ARGS...]: PUT /v1/policy; status in $out/pcode, head in $out/ph, body in $out/pb
  local file="$1"
  shift
  c --max-time 10 "${AUTH[@]}" -X PUT -H 'Content-Type: application/json' --data-binary @"$file" "$@" \
    -D "$out/ph" -o "$out/pb" -w '%{http_code}' "$CONTROL/v1/policy" >"$out/pcode" 2>"$out/perr"
}
etag_of() { grep -i '^etag:' "$1" 2>/dev/null | tr -d '\r' | sed 's/^[^:]*: *//'; }

cat >"$tmp/policy-deny.json" <<EOF
{"rules": [{"id": "e2e-no-plain-origin", "action": "deny", "hosts": ["127.0.0.1"], "ports": [$ORIGIN_PORT]}],
 "default": "allow"}
EOF
policy_put "$tmp/policy-deny.json"
detail="status $(cat "$out/pcode"), $(cat "$out/pb" "$out/perr" 2>/dev/null)"
check "PUT /v1/policy (a deny rule) answers 200 with the new version" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && grep -q "\"version\":[0-9]" "$2"' _ "$out/pcode" "$out/pb"
deny_etag="$(etag_of "$out/ph")"
c --max-time 5 "${AUTH[@]}" -D "$out/pgh" -o /dev/null "$CONTROL/v1/policy" 2>/dev/null
detail="PUT gave ETag '$deny_etag', GET gives '$(etag_of "$out/pgh")'"
check "GET /v1/policy carries the ETag of the version just put" \
  bash -c '[[ -n "$1" && "$1" == "$2" ]]' _ "$deny_etag" "$(etag_of "$out/pgh")"
detail="no $tmp/data/policy/v${deny_etag//\"/}.json"
check "the accepted version is stored as <dataDir>/policy/v<N>.json" test -s "$tmp/data/policy/v${deny_etag//\"/}.json"

c -x "$PROXY" -D "$out/h12a" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h12a" | tr '\n' '|') $(cat "$out/err")"
check "a deny rule: 403 with X-Tollgate-Reason naming the rule" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason: *rule e2e-no-plain-origin" "$2"' _ "$out/code" "$out/h12a"
c -x "$PROXY" -D "$out/h12b" -o /dev/null -w '%{http_code}' "http://2130706433:$ORIGIN_PORT/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h12b" | tr '\n' '|') $(cat "$out/err")"
check "the deny rule also catches 127.0.0.1 written as 2130706433" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason: *rule e2e-no-plain-origin" "$2"' _ "$out/code" "$out/h12b"
c -p -x "$PROXY" --cacert "$origin_ca" -o "$out/b12c" -w '%{http_connect} %{http_code}' \
  "$ORIGIN_TLS/index.html" >"$out/code" 2>"$out/err"
detail="CONNECT/GET status $(code), $(cat "$out/err")"
check "a target the rule does not match (another port) still gets through" \
  bash -c '[[ "$(cat "$1")" == "200 200" ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b12c" "$www/index.html"

# Authentication: a user whose bcrypt hash the jar makes now, from a random password.
pw="$(openssl rand -hex 12)"
pw_hash="$(printf %s "$pw" | "${launch[@]}" hash-password 2>"$out/hash-err")"
detail="hash-password printed '$pw_hash' $(cat "$out/hash-err")"
check "hash-password prints a \$2y\$ bcrypt hash" bash -c '[[ "$1" =~ ^\$2y\$[0-9]{2}\$[./A-Za-z0-9]{53}$ ]]' _ "$pw_hash"
cat >"$tmp/policy-auth.json" <<EOF
{"auth": {"required": true, "realm": "tollgate e2e", "users": {"e2e-user": "$pw_hash", "e2e-slow": "$pw_hash", "e2e-quota": "$pw_hash"}},
 "rules": [{"id": "e2e-no-plain-origin", "action": "deny", "hosts": ["127.0.0.1"], "ports": [$ORIGIN_PORT], "methods": ["DELETE"]}],
 "limits": {"users": {"e2e-slow": {"requestsPerSecond": 1, "burst": 1}}},
 "quotas": {"users": {"e2e-quota": {"requests": {"perDay": 2}}}},
 "default": "allow"}
EOF
policy_put "$tmp/policy-auth.json" -H 'If-Match: "0"'
detail="status $(cat "$out/pcode"), $(cat "$out/pb" 2>/dev/null)"
check "PUT /v1/policy with a stale If-Match: 412, nothing changes" test "$(cat "$out/pcode")" = 412
policy_put "$tmp/policy-auth.json" -H "If-Match: $deny_etag"
detail="status $(cat "$out/pcode"), $(cat "$out/pb" "$out/perr" 2>/dev/null)"
check "PUT /v1/policy with the current ETag in If-Match (auth required): 200" test "$(cat "$out/pcode")" = 200
auth_etag="$(etag_of "$out/ph")"

c -x "$PROXY" -D "$out/h12d" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h12d" | tr '\n' '|') $(cat "$out/err")"
check "auth required, no credentials: 407 with Proxy-Authenticate: Basic realm" \
  bash -c '[[ "$(cat "$1")" == 407 ]] && grep -qi "^Proxy-Authenticate: *Basic realm=\"tollgate e2e\"" "$2"' _ "$out/code" "$out/h12d"
c -x "$PROXY" --proxy-user "e2e-user:$pw" -o "$out/b12e" -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "auth required, --proxy-user with the right password: 200 and the body" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b12e" "$www/index.html"
c -x "$PROXY" --proxy-user "e2e-user:not-$pw" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "auth required, wrong password: 407" test "$(code)" = 407
detail="$(grep 'authentication failed' "$tg_log" | tail -n 1)"
check "the failed login is logged with the user and without the password" \
  bash -c 'grep "authentication failed" "$1" | grep -q "user=e2e-user" && ! grep -q -e "$2" "$1"' _ "$tg_log" "not-$pw"
c -p -x "$PROXY" --proxy-user "e2e-user:$pw" --cacert "$origin_ca" -o "$out/b12f" -w '%{http_connect} %{http_code}' \
  "$ORIGIN_TLS/index.html" >"$out/code" 2>"$out/err"
detail="CONNECT/GET status $(code), $(cat "$out/err")"
check "auth required, CONNECT (curl -p) with credentials: 200 and the body" \
  bash -c '[[ "$(cat "$1")" == "200 200" ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b12f" "$www/index.html"
c -p -x "$PROXY" --cacert "$origin_ca" -o /dev/null -w '%{http_connect}' "$ORIGIN_TLS/index.html" >"$out/code" 2>"$out/err"
detail="CONNECT status $(code), $(cat "$out/err")"
check "auth required, CONNECT without credentials: 407" test "$(code)" = 407
c --proxy "$TLS_PROXY" --proxy-cacert "$proxy_ca" --proxy-user "e2e-user:$pw" -o "$out/b12g" -w '%{http_code}' \
  "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "auth required, HTTPS proxy listener with credentials: 200" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b12g" "$www/index.html"
c -x "$PROXY" --proxy-user "e2e-user:$pw" -X DELETE -D "$out/h12h" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h12h" | tr '\n' '|') $(cat "$out/err")"
check "a methods rule denies an authenticated DELETE: 403 naming the rule" \
  bash -c '[[ "$(cat "$1")" == 403 ]] && grep -qi "^X-Tollgate-Reason: *rule e2e-no-plain-origin" "$2"' _ "$out/code" "$out/h12h"

# A user over their request rate: 429 with Retry-After and the reason.
c -x "$PROXY" --proxy-user "e2e-slow:$pw" -o /dev/null -o /dev/null -w '%{http_code} ' "$ORIGIN/index.html" "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
c -x "$PROXY" --proxy-user "e2e-slow:$pw" -D "$out/h12i" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >>"$out/code" 2>>"$out/err"
detail="statuses $(code), $(tr -d '\r' <"$out/h12i" | tr '\n' '|') $(cat "$out/err")"
check "a user limited to 1 request/s: 200, then 429 with Retry-After naming the rate limit" \
  bash -c '[[ "$(cat "$1")" == "200 429 429" ]] && grep -qi "^Retry-After: *[1-9]" "$2" && grep -qi "^X-Tollgate-Reason: *request rate limit" "$2"' _ "$out/code" "$out/h12i"

# A user over a daily request quota: 429 naming it, Retry-After to midnight UTC; usage and reset over the API.
c -x "$PROXY" --proxy-user "e2e-quota:$pw" -o /dev/null -o /dev/null -o /dev/null -D "$out/h12q" -w '%{http_code} ' \
  "$ORIGIN/index.html" "$ORIGIN/index.html" "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
to_midnight=$(( $(date -u -d 'tomorrow 00:00' +%s) - $(date -u +%s) ))
retry_after="$(tr -d '\r' <"$out/h12q" | grep -i '^Retry-After:' | tail -n 1 | awk '{print $2}')"
detail="statuses $(code), Retry-After '$retry_after' vs $to_midnight s to midnight, $(tr -d '\r' <"$out/h12q" | tr '\n' '|') $(cat "$out/err")"
check "a quota of 2 requests a day: 200 200, then 429 naming requests.perDay with Retry-After to midnight UTC" \
  bash -c '[[ "$(cat "$1")" == "200 200 429 " ]] && grep -qi "^X-Tollgate-Reason: *quota requests.perDay exceeded" "$2" && (( $3 - $4 <= 5 && $4 - $3 <= 5 ))' \
  _ "$out/code" "$out/h12q" "${retry_after:-0}" "$to_midnight"
c --max-time 5 "${AUTH[@]}" -o "$out/usage" "$CONTROL/v1/usage/e2e-quota" 2>"$out/err"
detail="$(cat "$out/usage" 2>/dev/null) $(cat "$out/err")"
check "GET /v1/usage/e2e-quota: 2 requests today, requests.perDay exceeded" \
  bash -c 'grep -q "\"day\":{\"bytes\":[0-9]*,\"requests\":2," "$1" && grep -q "\"exceeded\":{\"quota\":\"requests.perDay\"" "$1"' _ "$out/usage"
st="$(c --max-time 5 "${AUTH[@]}" -X DELETE -o "$out/ureset" -w '%{http_code}' "$CONTROL/v1/usage/e2e-quota" 2>&1)"
c -x "$PROXY" --proxy-user "e2e-quota:$pw" -o /dev/null -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="reset status $st $(cat "$out/ureset" 2>/dev/null), then $(code) $(cat "$out/err")"
check "DELETE /v1/usage/e2e-quota resets it: the next request is 200" bash -c '[[ "$1" == 200 && "$(cat "$2")" == 200 ]]' _ "$st" "$out/code"

# A policy that does not validate: 400 naming the bad value's path; nothing changes.
printf '{"rules": [{"id": "bad-port", "action": "allow", "ports": [70000]}]}' >"$tmp/policy-bad.json"
policy_put "$tmp/policy-bad.json"
detail="status $(cat "$out/pcode"), $(cat "$out/pb" 2>/dev/null)"
check "an invalid policy: 400 with {\"error\",\"path\"} naming rules[0].ports[0]" \
  bash -c '[[ "$(cat "$1")" == 400 ]] && grep -q "\"path\":\"rules\[0\]\.ports\[0\]\"" "$2" && grep -q "\"error\":" "$2"' _ "$out/pcode" "$out/pb"
c --max-time 5 "${AUTH[@]}" -D "$out/pgh" -o /dev/null "$CONTROL/v1/policy" 2>/dev/null
detail="ETag '$(etag_of "$out/pgh")', expected '$auth_etag'"
check "the invalid policy changed nothing (same ETag)" test "$(etag_of "$out/pgh")" = "$auth_etag"
st="$(c --max-time 5 "${AUTH[@]}" -X POST -H 'Content-Type: application/json' --data-binary @"$tmp/policy-deny.json" \
  -o "$out/pv" -w '%{http_code}' "$CONTROL/v1/policy/validate" 2>&1)"
detail="status $st, $(cat "$out/pv" 2>/dev/null)"
check "POST /v1/policy/validate of a good policy: 200 {\"valid\":true}" \
  bash -c '[[ "$1" == 200 ]] && grep -q "\"valid\":true" "$2"' _ "$st" "$out/pv"

# Restore allow-all for what follows: roll back to version 1, the empty policy a node without
# --policy starts with (no auth, no rules, default allow; the config allows 127.0.0.0/8).
st="$(c --max-time 10 "${AUTH[@]}" -X POST -o "$out/prb" -w '%{http_code}' "$CONTROL/v1/policy/rollback/1" 2>&1)"
detail="status $st, $(cat "$out/prb" 2>/dev/null)"
check "POST /v1/policy/rollback/1 restores allow-all as a new version" \
  bash -c '[[ "$1" == 200 ]] && grep -q "\"rolledBackTo\":1" "$2"' _ "$st" "$out/prb"
hist="$(c --max-time 5 "${AUTH[@]}" "$CONTROL/v1/policy/history" 2>&1)"
detail="history: $hist"
check "GET /v1/policy/history lists the versions and the current one" \
  bash -c '[[ "$1" =~ \"current\":([0-9]+) ]] && [[ "$1" == *"\"version\":${BASH_REMATCH[1]},"* && "$1" == *"rollback to 1"* ]]' _ "$hist"
c -x "$PROXY" -o "$out/b12i" -w '%{http_code}' "$ORIGIN/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "after the rollback a request without credentials gets through again" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3"' _ "$out/code" "$out/b12i" "$www/index.html"

# 12b. Interception: curl trusts only Tollgate's CA (from the data dir); nginx's certificate is in
# mitm.upstreamTrust. The answer carries Tollgate's Via: it went through the forwarder, not a blind tunnel.
printf '{"network": {"allowPrivate": ["127.0.0.0/8"]}, "rules": [{"id": "e2e-inspect", "action": "intercept", "hosts": ["localhost"]}]}' >"$tmp/policy-intercept.json"
policy_put "$tmp/policy-intercept.json"
detail="status $(cat "$out/pcode"), $(cat "$out/pb" 2>/dev/null)"
check "PUT /v1/policy with an intercept rule: 200" test "$(cat "$out/pcode")" = 200
c -x "$PROXY" --cacert "$tmp/data/ca.pem" -D "$out/h12j" -o "$out/b12j" -w '%{http_code}' "https://localhost:$ORIGIN_TLS_PORT/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(tr -d '\r' <"$out/h12j" | tr '\n' '|') $(cat "$out/err")"
check "curl --cacert data/ca.pem -x: an intercepted HTTPS GET is 200, byte-exact, with Tollgate's Via" \
  bash -c '[[ "$(cat "$1")" == 200 ]] && cmp -s "$2" "$3" && grep -qi "^via:.*tollgate" "$4"' _ "$out/code" "$out/b12j" "$www/index.html" "$out/h12j"
detail="$(grep -c 'https://localhost:' "$tg_log" 2>/dev/null) lines"
check "the intercepted request is in the access log with its https:// URL" \
  bash -c 'grep -q "\"target\":\"https://localhost:$1/index.html\"" "$2"' _ "$ORIGIN_TLS_PORT" "$tg_log"
c -x "$PROXY" --cacert "$origin_ca" -o /dev/null -w '%{http_code}' "https://localhost:$ORIGIN_TLS_PORT/index.html" >"$out/code" 2>"$out/err"
detail="status $(code), $(cat "$out/err")"
check "a client that trusts only the origin's certificate refuses the intercepted tunnel" bash -c '[[ "$(cat "$1")" == 000 ]]' _ "$out/code"
# Headless Chromium (Debian's package) through the interception, with Tollgate's CA in its NSS
# store; loopback is proxied only when taken off Chromium's implicit bypass list.
if ! command -v chromium >/dev/null || ! command -v certutil >/dev/null; then
  log "installing chromium and libnss3-tools"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libnss3-tools >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libnss3-tools >/dev/null 2>&1; }
fi
chome="$tmp/chrome-home"
mkdir -p "$chome/.pki/nssdb"
HOME="$chome" certutil -d "sql:$chome/.pki/nssdb" -N --empty-password >/dev/null 2>&1
HOME="$chome" certutil -d "sql:$chome/.pki/nssdb" -A -t "C,," -n tollgate-e2e -i "$tmp/data/ca.pem" >/dev/null 2>&1
before_chrome=$(grep -c "\"target\":\"https://localhost:$ORIGIN_TLS_PORT/index.html\"" "$tg_log")
HOME="$chome" timeout 90 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$chome/profile" \
  --proxy-server="http://$HOST:$PROXY_PORT" --proxy-bypass-list="<-loopback>" \
  --dump-dom "https://localhost:$ORIGIN_TLS_PORT/index.html" >"$out/chrome.html" 2>"$out/chrome.err"
after_chrome=$(grep -c "\"target\":\"https://localhost:$ORIGIN_TLS_PORT/index.html\"" "$tg_log")
detail="dom: $(head -c 300 "$out/chrome.html" | tr '\n' ' '); log lines $before_chrome -> $after_chrome; $(grep -i 'error\|cert' "$out/chrome.err" | head -3 | tr '\n' '|')"
check "headless Chromium loads a page through the interception with Tollgate's CA trusted" \
  bash -c 'grep -q "hello from the tollgate e2e origin" "$1" && (( $3 > $2 ))' _ "$out/chrome.html" "$before_chrome" "$after_chrome"

printf '{"network": {"allowPrivate": ["127.0.0.0/8"]}}' >"$tmp/policy-plain.json"
policy_put "$tmp/policy-plain.json"

# 13. Shutdown (also run by the EXIT trap when something above aborted): with a tunnel open.
c --max-time 30 -p -x "$PROXY" --cacert "$origin_ca" -o /dev/null \
  "$ORIGIN_TLS/slow/10m.bin" 2>/dev/null &
open_pid=$!
bg_pids+=("$open_pid")
for ((i = 0; i < 50; i++)); do
  [[ -n "$(tunnel_id "$HOST:$ORIGIN_TLS_PORT")" ]] && break
  sleep 0.1
done
stop_tollgate
open_done=""
for ((i = 0; i < 30; i++)); do
  kill -0 "$open_pid" 2>/dev/null || { open_done=1; break; }
  sleep 0.1
done
detail="the client was still connected 3 s after the node stopped"
check "a tunnel open at shutdown is closed (at the drain timeout)" test -n "$open_done"
detail="$(grep -E '^[0-9:.]+ +ERROR ' "$tg_log" | sort | uniq -c | head -n 5 | tr '\n' '|')"
check "the node logged no ERROR" bash -c '! grep -qE "^[0-9:.]+ +ERROR " "$1"' _ "$tg_log"
