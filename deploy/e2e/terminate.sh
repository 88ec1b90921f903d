#!/usr/bin/env bash
# End-to-end check of a TLS-terminating listener: one node terminating TLS for a plain backend
# (python3's http.server) on 127.0.0.1, exercised with curl and openssl, then scanned by
# testssl.sh (Debian's package, installed when missing). Fails on any testssl finding rated HIGH
# or CRITICAL. Prints "ok - ..." / "not ok - ..." per check and ends with "N passed, M failed".
#
# Usage: flock /tmp/tollgate-e2e.lock bash deploy/e2e/terminate.sh
# Environment (all optional):
#   TOLLGATE_JAR=FILE     run this jar instead of building node/target/tollgate.jar
#   E2E_TERMINATE_PORT, E2E_REDIRECT_PORT, E2E_BACKEND_PORT, E2E_TERM_PROXY_PORT, E2E_TERM_CONTROL_PORT
#                         the 127.0.0.1 ports used (defaults 24443 24080 28081 24128 29091)
#   E2E_KEEP=1            keep the temp dir (logs, configs, testssl's JSON) for inspection
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 2
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

HOST=127.0.0.1
NAME=tollgate.test # the site's name; resolved to 127.0.0.1 by --resolve / --ip, never by DNS
TLS_PORT="${E2E_TERMINATE_PORT:-24443}"
REDIRECT_PORT="${E2E_REDIRECT_PORT:-24080}"
BACKEND_PORT="${E2E_BACKEND_PORT:-28081}"
PROXY_PORT="${E2E_TERM_PROXY_PORT:-24128}"
CONTROL_PORT="${E2E_TERM_CONTROL_PORT:-29091}"
STAFF_PORT="${E2E_TERMINATE_STAFF_PORT:-24444}" # a second listener, clientAuth optional
SITE="https://$NAME:$TLS_PORT"

passed=0
failed=0
tmp=""
tg_pid=""
backend_pid=""
started=$SECONDS

log() { printf '# %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() {
  failed=$((failed + 1))
  printf 'not ok - %s\n' "$1"
  shift
  local line
  for line in "$@"; do printf '#   %s\n' "$line"; done
}
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

c() { curl -q -sS --connect-timeout 20 --max-time 30 --cacert "$tmp/ca.pem" --resolve "$NAME:$TLS_PORT:$HOST" "$@"; }

finish() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$tg_pid" ]] && kill -0 "$tg_pid" 2>/dev/null; then
    kill -TERM "$tg_pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$tg_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tg_pid" 2>/dev/null
    wait "$tg_pid" 2>/dev/null
  fi
  if [[ -n "$backend_pid" ]]; then
    kill "$backend_pid" 2>/dev/null
    wait "$backend_pid" 2>/dev/null
  fi
  if ((failed > 0)) && [[ -n "$tmp" && -f "$tmp/node.log" ]]; then
    log "last lines of the node's log:"
    tail -n 30 "$tmp/node.log" | sed 's/^/#   /'
  fi
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "${E2E_KEEP:-}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  if ((passed + failed > 0)); then
    printf '%d passed, %d failed (%d s)\n' "$passed" "$failed" "$((SECONDS - started))"
  fi
  if ((status == 0 && failed > 0)); then status=1; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Tools

missing=()
command -v testssl >/dev/null 2>&1 || missing+=(testssl.sh)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} (install needs root)"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "apt-get install ${missing[*]} failed"
fi
command -v java >/dev/null 2>&1 || die "java not found (Java 17 is required)"

listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
for p in "$TLS_PORT" "$REDIRECT_PORT" "$BACKEND_PORT" "$PROXY_PORT" "$CONTROL_PORT" "$STAFF_PORT"; do
  listening "$p" && die "port $HOST:$p is already in use (set E2E_* to move it)"
done

if [[ -n "${TOLLGATE_JAR:-}" ]]; then
  [[ -f "$TOLLGATE_JAR" ]] || die "TOLLGATE_JAR=$TOLLGATE_JAR does not exist"
  launch=(java -Xms64m -Xmx512m -jar "$TOLLGATE_JAR")
else
  "$root/tollgate" --help >/dev/null || die "./tollgate --help failed (build broken?)"
  launch=("$root/tollgate")
fi

# ---------------------------------------------------------------------------------------------
# A test CA and the site's certificate (EC P-256, 90 days, with a CRL distribution point: testssl
# rates a certificate without any revocation information HIGH; nothing fetches it here).

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-terminate.XXXXXX")" || die "mktemp failed"
mkdir -p "$tmp/www" "$tmp/data"
printf 'hello from the backend\n' >"$tmp/www/hello.txt"
(
  cd "$tmp" || exit 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem -out ca.pem \
    -days 30 -subj "/CN=Tollgate e2e CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout site-key.pem -out site.csr -subj "/CN=$NAME" &&
    printf '%s\n' "subjectAltName=DNS:$NAME" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" "crlDistributionPoints=URI:http://$HOST:1/e2e-ca.crl" >site.ext &&
    openssl x509 -req -in site.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 90 -sha256 -extfile site.ext -out site-leaf.pem &&
    cat site-leaf.pem ca.pem >site.pem &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout clients-ca-key.pem \
      -out clients-ca.pem -days 30 -subj "/CN=Tollgate e2e client CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client-key.pem -out client.csr \
      -subj "/O=Tollgate e2e/CN=e2e-client" &&
    printf '%s\n' "subjectAltName=URI:spiffe://tollgate.test/e2e-client" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >client.ext &&
    openssl x509 -req -in client.csr -CA clients-ca.pem -CAkey clients-ca-key.pem -CAcreateserial -days 30 -sha256 \
      -extfile client.ext -out client.pem
) >/dev/null 2>&1 || die "openssl could not make the test certificates"

python3 -m http.server "$BACKEND_PORT" --bind "$HOST" --directory "$tmp/www" >"$tmp/backend.log" 2>&1 &
backend_pid=$!

cat >"$tmp/tollgate.yaml" <<EOF
proxy:
  listen: $HOST:$PROXY_PORT
control:
  listen: $HOST:$CONTROL_PORT
node:
  name: e2e-terminate
  dataDir: $tmp/data
accessLog:
  file: $tmp/access.log
terminate:
  - name: site
    listen: $HOST:$TLS_PORT
    cert: $tmp/site.pem
    key: $tmp/site-key.pem
    routes:
      $NAME: http://$HOST:$BACKEND_PORT
    hsts: {maxAge: 365d, includeSubDomains: true}
    redirectHttp: $HOST:$REDIRECT_PORT
  - name: staff
    listen: $HOST:$STAFF_PORT
    cert: $tmp/site.pem
    key: $tmp/site-key.pem
    routes:
      $NAME: http://$HOST:$BACKEND_PORT
    clientAuth: optional
    clientCa: $tmp/clients-ca.pem
EOF

"${launch[@]}" --config "$tmp/tollgate.yaml" >"$tmp/node.log" 2>&1 &
tg_pid=$!
for ((i = 0; i < 600; i++)); do
  grep -q "tollgate ready" "$tmp/node.log" 2>/dev/null && break
  kill -0 "$tg_pid" 2>/dev/null || die "the node exited at start (see its log)"
  sleep 0.1
done
grep -q "tollgate ready" "$tmp/node.log" || die "the node did not get ready within 60 s"
for ((i = 0; i < 50; i++)); do listening "$BACKEND_PORT" && break; sleep 0.1; done
engine="$(grep -o 'TLS engine [a-z]*' "$tmp/node.log" | head -n 1)"
log "node ready (${engine:-engine unknown})"

# ---------------------------------------------------------------------------------------------
# The listener with ordinary clients

body="$(c "$SITE/hello.txt" 2>&1)"
detail="got: $body"
check "curl gets the backend's file through the terminating listener" test "$body" = "hello from the backend"

head="$(c -s -o /dev/null -D - "$SITE/hello.txt" 2>&1)"
detail="$head"
check "responses carry Strict-Transport-Security" grep -qi '^strict-transport-security: max-age=31536000; includeSubDomains' <<<"$head"

proto="$(c --http2 -s -o /dev/null -w '%{http_version}' "$SITE/hello.txt" 2>&1)"
detail="got: $proto"
check "h2 by ALPN" test "$proto" = "2"

head="$(curl -q -sS --max-time 10 -o /dev/null -D - "http://$HOST:$REDIRECT_PORT/a/b?x=1&y=2" -H "Host: $NAME" 2>&1)"
detail="$head"
check "the plain companion answers 308 to https with path and query" \
  grep -qi "^location: https://$NAME:$TLS_PORT/a/b?x=1&y=2" <<<"$head"

status="$(c -s -o /dev/null -w '%{http_code}' -H 'Host: other.test' "$SITE/hello.txt" 2>&1)"
detail="got: $status"
check "a host without a route gets 421" test "$status" = "421"

# (s_client prints the protocol it offered even when the server refused it: the cipher tells.)
out="$(openssl s_client -connect "$HOST:$TLS_PORT" -servername "$NAME" -tls1_1 </dev/null 2>&1)"
detail="$(grep -E '^New|alert' <<<"$out" | head -n 3)"
check "TLS 1.1 is refused" grep -q 'Cipher is (NONE)' <<<"$out"

out="$(openssl s_client -connect "$HOST:$TLS_PORT" -servername "$NAME" -tls1_2 -reconnect -CAfile "$tmp/ca.pem" </dev/null 2>&1)"
detail="$(grep -E '^(New|Reused)' <<<"$out" | head -n 6)"
check "TLS 1.2 sessions are resumed" grep -q '^Reused, TLSv1.2' <<<"$out"

# ---------------------------------------------------------------------------------------------
# Policy rules for a listener, matching the verified client certificate (curl with and without one)

staff() { curl -q -sS --connect-timeout 20 --max-time 30 --cacert "$tmp/ca.pem" --resolve "$NAME:$STAFF_PORT:$HOST" "$@"; }
put_policy() {
  curl -q -sS --max-time 10 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $(cat "$tmp/data/control-token")" --data-binary "$1" "http://$HOST:$CONTROL_PORT/v1/policy"
}
status="$(put_policy '{"rules": [
  {"id": "staff-e2e", "action": "allow", "listeners": ["staff"], "clients": ["uri:spiffe://tollgate.test/e2e-client"]},
  {"id": "staff-others", "action": "deny", "listeners": ["staff"]}]}')"
detail="control API answered $status"
check "a policy with listener rules matching client certificates is accepted" test "$status" = "200"
body="$(staff --cert "$tmp/client.pem" --key "$tmp/client-key.pem" "https://$NAME:$STAFF_PORT/hello.txt" 2>&1)"
detail="got: $body"
check "a client certificate the rule names is let in" test "$body" = "hello from the backend"
head="$(staff -o /dev/null -D - "https://$NAME:$STAFF_PORT/hello.txt" 2>&1)"
detail="$head"
check "no client certificate: 403 naming the listener rule" \
  bash -c 'grep -q "^HTTP/[0-9.]* 403" <<<"$1" && grep -qi "^x-tollgate-reason: rule staff-others" <<<"$1"' _ "$head"
body="$(c "$SITE/hello.txt" 2>&1)"
detail="got: $body"
check "rules naming another listener leave this one alone" test "$body" = "hello from the backend"
status="$(put_policy '{}')"
detail="control API answered $status"
check "the empty policy is back" test "$status" = "200"

# ---------------------------------------------------------------------------------------------
# testssl.sh: every finding rated HIGH or CRITICAL fails the suite.

log "running testssl.sh against $SITE (takes a few minutes)"
testssl --quiet --color 0 --warnings batch --add-ca "$tmp/ca.pem" --ip "$HOST" \
  --jsonfile "$tmp/testssl.json" "$SITE" >"$tmp/testssl.txt" 2>&1
rc=$?
if [[ ! -s "$tmp/testssl.json" ]]; then
  not_ok "testssl.sh ran" "exit $rc, no JSON; last lines:" "$(tail -n 5 "$tmp/testssl.txt")"
else
  findings="$(python3 - "$tmp/testssl.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))
for f in items:
    if f.get("severity") in ("HIGH", "CRITICAL"):
        print(f'{f["severity"]} {f.get("id")}: {f.get("finding")}')
PY
)"
  counts="$(python3 -c 'import json,sys,collections; print(dict(collections.Counter(f.get("severity") for f in json.load(open(sys.argv[1])))))' "$tmp/testssl.json")"
  log "testssl.sh findings by severity: $counts"
  if [[ -z "$findings" ]]; then
    ok "testssl.sh: no finding rated HIGH or CRITICAL"
  else
    mapfile -t lines <<<"$findings"
    not_ok "testssl.sh: no finding rated HIGH or CRITICAL" "${lines[@]}"
  fi
fi
