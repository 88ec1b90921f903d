#!/usr/bin/env bash
# End-to-end cluster suite: deploy/local-cluster.sh (three nodes + HAProxy on 127.0.0.1:3128)
# in front of an nginx origin. Traffic through HAProxy, a policy pushed to one node seen on all,
# then, while traffic flows, one node drained and one killed (kill -9): no request may fail
# except those the killed node held. Prints "ok - ..." / "not ok - ..." and a total.
#
# Environment: TOLLGATE_JAR (default node/target/tollgate.jar), E2E_KEEP=1 keeps the temp dir.
# shellcheck disable=SC2016
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

tmp="$(mktemp -d /tmp/tollgate-cluster-e2e.XXXXXX)"
chmod 755 "$tmp" # nginx's workers (www-data) read the origin's files under it
export TOLLGATE_CLUSTER_DIR="$tmp/cluster" TOLLGATE_ALLOW_PRIVATE=127.0.0.0/8 TOLLGATE_DRAIN_TIMEOUT=5s
export TOLLGATE_JAR="${TOLLGATE_JAR:-$root/node/target/tollgate.jar}"
ORIGIN_PORT=28180
LB=127.0.0.1:3128
passed=0
failed=0
nginx_pid=""

ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$1"; [[ -n "${2:-}" ]] && printf '#   %s\n' "$2"; }
check() { local d="$1"; shift; if "$@"; then ok "$d"; else not_ok "$d" "${detail:-}"; fi; detail=""; }

cleanup() {
  "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null
  if [[ "${E2E_KEEP:-}" == 1 || $failed -gt 0 ]]; then
    echo "# kept $tmp"
    for f in "$TOLLGATE_CLUSTER_DIR"/node*.log; do echo "# --- $f (tail)"; tail -n 15 "$f" | sed 's/^/#   /'; done
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# The origin: nginx serving a small file.
# shellcheck source=deploy/e2e/origin.sh
source "$here/origin.sh"
mkdir -p "$tmp/www"
echo "hello from the origin" > "$tmp/www/hello.txt"
start_origin "$tmp" $ORIGIN_PORT

if ! "$root/deploy/local-cluster.sh" start; then
  not_ok "the local cluster starts"
  exit 1
fi
ok "the local cluster starts (three nodes, HAProxy)"
token="$(cat "$TOLLGATE_CLUSTER_DIR/control-token")"
api() { curl -sS -H "authorization: Bearer $token" "$@"; }
URL="http://127.0.0.1:$ORIGIN_PORT/hello.txt"
sleep 1.5 # HAProxy's first health checks

codes=""
for _ in $(seq 1 30); do codes+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" "$URL") "; done
detail="$codes"
check "30 requests through HAProxy all answered 200" bash -c '[[ "$0" =~ ^(200 )+$ ]]' "$codes"
served=$(grep -l '"status":200' "$TOLLGATE_CLUSTER_DIR"/node*/access.log 2>/dev/null | wc -l)
detail="served by $served node(s)"
check "the requests were spread over the nodes" test "$served" -ge 2

members=$(api http://127.0.0.1:9093/v1/cluster)
detail="$members"
check "/v1/cluster on node3 lists three ready members" bash -c '[[ $(grep -o "\"state\":\"ready\"" <<<"$0" | wc -l) -eq 3 ]]' "$members"

policy='{"network":{"allowPrivate":["127.0.0.0/8"]},"rules":[{"id":"no-blocked","action":"deny","hosts":["*.blocked.test"]}],"default":"allow"}'
version=$(api -X PUT -H 'content-type: application/json' --data "$policy" http://127.0.0.1:9091/v1/policy | sed -n 's/.*"version":\([0-9]*\).*/\1/p')
same=0
for _ in $(seq 1 50); do
  e2=$(api -s -o /dev/null -D - http://127.0.0.1:9092/v1/policy | tr -d '\r' | sed -n 's/^etag: "\(.*\)"/\1/Ip')
  e3=$(api -s -o /dev/null -D - http://127.0.0.1:9093/v1/policy | tr -d '\r' | sed -n 's/^etag: "\(.*\)"/\1/Ip')
  if [[ -n "$version" && "$e2" == "$version" && "$e3" == "$version" ]]; then same=1; break; fi
  sleep 0.1
done
detail="pushed v$version; node2 v$e2, node3 v$e3"
check "a policy pushed to node1 is in force on node2 and node3" test "$same" = 1
denied=""
for _ in $(seq 1 6); do denied+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" http://www.blocked.test/) "; done
detail="$denied"
check "the pushed deny rule answers 403 on whichever node HAProxy picks" bash -c '[[ "$0" =~ ^(403 )+$ ]]' "$denied"

# Traffic while one node drains and another is killed.
: > "$tmp/codes"
(
  end=$((SECONDS + 14))
  while ((SECONDS < end)); do
    # status, curl's exit code and error, and when: a failure says how it failed (52: empty reply)
    curl -s -o /dev/null -w "%{http_code} %{exitcode} $(date +%T.%N) %{errormsg}\n" --max-time 10 -x "$LB" "$URL" >> "$tmp/codes"
  done
) &
traffic=$!
sleep 2
drained_at=$(date +%T.%N)
drain=$(api -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9092/v1/drain)
detail="POST /v1/drain answered $drain"
check "POST /v1/drain on node2 is accepted" test "$drain" = 202
ready=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9092/readyz)
detail="readyz $ready; $(tail -n 3 "$TOLLGATE_CLUSTER_DIR/node2.log" | tr '\n' '|')"
# With nothing in flight a drain can finish (and the process exit) before the next request: then
# the node must have logged that it drained.
check "node2's /readyz turns 503 at once (or the node has already drained and left)" \
  bash -c '[[ "$1" == 503 ]] || { [[ "$1" == 000 ]] && grep -q "drained" "$2"; }' _ "$ready" "$TOLLGATE_CLUSTER_DIR/node2.log"
sleep 3
killed_time=$(date +%T.%N)
kill -9 "$(cat "$TOLLGATE_CLUSTER_DIR/node3.pid")"
killed_at=$(wc -l < "$tmp/codes")
wait "$traffic"
total=$(wc -l < "$tmp/codes")
bad=$(grep -vc '^200 ' "$tmp/codes")
detail="$bad of $total failed (node2 drained at $drained_at, node3 killed at $killed_time): $(grep -v '^200 ' "$tmp/codes" | tr '\n' '|')"
# Requests go one at a time, so at most the one in flight on node3 when it died may fail.
check "traffic through a drain and a kill -9: $total requests, at most the killed node's in-flight one failed" test "$bad" -le 1
echo "# $total requests, $bad failed, node3 killed after request $killed_at"
grep -n -v '^200 ' "$tmp/codes" | sed 's/^/#   failed: request /'

gone=0
for _ in $(seq 1 100); do
  if ! kill -0 "$(cat "$TOLLGATE_CLUSTER_DIR/node2.pid")" 2>/dev/null; then gone=1; break; fi
  sleep 0.1
done
detail="$(tail -n 3 "$TOLLGATE_CLUSTER_DIR/node2.log")"
check "the drained node exits after the drain" test "$gone" = 1
check "the drained node says it drained and stopped" grep -q "drained" "$TOLLGATE_CLUSTER_DIR/node2.log"

left=""
for _ in $(seq 1 150); do
  left=$(api http://127.0.0.1:9091/v1/cluster)
  if [[ $(grep -o '"name":"node' <<<"$left" | wc -l) -eq 1 ]]; then break; fi
  sleep 0.1
done
detail="$left"
check "node1's /v1/cluster lists only itself once node2 left and node3 died" bash -c '[[ $(grep -o "\"name\":\"node" <<<"$0" | wc -l) -eq 1 ]]' "$left"
after=$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" "$URL")
detail="$after"
check "the cluster still serves through HAProxy" test "$after" = 200

"$root/deploy/local-cluster.sh" stop >/dev/null 2>&1
check "local-cluster.sh stop ends what start started" bash -c '! ls "$0"/*.pid >/dev/null 2>&1' "$TOLLGATE_CLUSTER_DIR"

echo "$passed passed, $failed failed"
((failed == 0))
