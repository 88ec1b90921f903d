#!/usr/bin/env bash
# End-to-end check that the Grafana dashboard really shows data: the local cluster
# (deploy/local-cluster.sh) scraped by a real Prometheus (Debian package) with
# deploy/prometheus/prometheus.yml; traffic (forwards, a CONNECT, a denial, an auth failure and a
# 429) through HAProxy; after two scrapes every PromQL expression of every panel of
# deploy/grafana/dashboards/*.json is run against Prometheus' HTTP API and must be valid and return
# at least one series. Also `promtool check config` and `promtool check rules`.
# Prints "ok - ..." / "not ok - ..." and a total. TOLLGATE_JAR as in the other suites.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v jq >/dev/null || missing+=(jq)
if ((${#missing[@]} > 0)); then
  echo "# installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

tmp="$(mktemp -d /tmp/tollgate-obs-e2e.XXXXXX)"
chmod 755 "$tmp"
export TOLLGATE_CLUSTER_DIR="$tmp/cluster" TOLLGATE_ALLOW_PRIVATE=127.0.0.0/8 TOLLGATE_DRAIN_TIMEOUT=2s
export TOLLGATE_CONNECT_PORTS=28281
export TOLLGATE_JAR="${TOLLGATE_JAR:-$root/node/target/tollgate.jar}"
PROM=127.0.0.1:29190
LB=127.0.0.1:3128
passed=0 failed=0 nginx_pid="" prom_pid=""

ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$1"; [[ -n "${2:-}" ]] && printf '#   %s\n' "$2"; }
check() { local d="$1"; shift; if "$@"; then ok "$d"; else not_ok "$d" "${detail:-}"; fi; detail=""; }

cleanup() {
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null
  "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null
  wait 2>/dev/null
  if [[ $failed -gt 0 || "${E2E_KEEP:-}" == 1 ]]; then echo "# kept $tmp"; tail -n 5 "$tmp/prometheus.log" 2>/dev/null | sed 's/^/#   /'; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

detail="$(promtool check config "$root/deploy/prometheus/prometheus.yml" 2>&1 | tail -3)"
check "promtool check config deploy/prometheus/prometheus.yml" bash -c 'promtool check config "$0" >/dev/null 2>&1' "$root/deploy/prometheus/prometheus.yml"
detail="$(promtool check rules "$root/deploy/prometheus/alerts.yml" 2>&1 | tail -3)"
check "promtool check rules deploy/prometheus/alerts.yml" bash -c 'promtool check rules "$0" >/dev/null 2>&1' "$root/deploy/prometheus/alerts.yml"

# Origin: nginx, plain HTTP on 28280 and a plain listener on 28281 that CONNECT tunnels reach.
# shellcheck source=deploy/e2e/origin.sh
source "$here/origin.sh"
mkdir -p "$tmp/www"
echo "hello" > "$tmp/www/hello.txt"
start_origin "$tmp" 28280 28281

"$root/deploy/local-cluster.sh" start >"$tmp/cluster.log" 2>&1 || { not_ok "the local cluster starts" "$(tail -3 "$tmp/cluster.log")"; exit 1; }
ok "the local cluster starts"
token="$(cat "$TOLLGATE_CLUSTER_DIR/control-token")"

mkdir -p "$tmp/prom"
cp "$root/deploy/prometheus/prometheus.yml" "$root/deploy/prometheus/alerts.yml" "$tmp/prom/"
prometheus --config.file="$tmp/prom/prometheus.yml" --storage.tsdb.path="$tmp/prom/data" \
  --web.listen-address="$PROM" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
up=""
for _ in $(seq 1 100); do
  up=$(curl -s "http://$PROM/api/v1/query?query=sum(up%7Bjob%3D%22tollgate%22%7D)" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
  [[ "$up" == 3 ]] && break
  sleep 0.3
done
detail="sum(up) = '$up'"
check "Prometheus scrapes the three nodes" test "$up" = 3

# Traffic: a login, a deny rule and a rate limit for one user, pushed to one node.
hash=$(printf %s 'obs-password' | java -jar "$TOLLGATE_JAR" hash-password)
cat > "$tmp/policy.json" <<JSON
{"auth": {"required": true, "users": {"obs": "$hash", "slow": "$hash"}},
 "network": {"allowPrivate": ["127.0.0.0/8"]},
 "rules": [{"id": "no-denied-test", "action": "deny", "hosts": ["*.denied.test"]}],
 "limits": {"users": {"slow": {"requestsPerSecond": 1, "burst": 1}}}}
JSON
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "authorization: Bearer $token" -H 'content-type: application/json' \
  --data-binary @"$tmp/policy.json" http://127.0.0.1:9091/v1/policy)
detail="PUT answered $code"
check "a policy with a login, a deny rule and a rate limit is accepted" test "$code" = 200
sleep 1
statuses=""
for _ in $(seq 1 20); do statuses+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" --proxy-user obs:obs-password http://127.0.0.1:28280/hello.txt) "; done
statuses+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" --proxy-user obs:obs-password -p http://127.0.0.1:28281/hello.txt) "
statuses+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" --proxy-user obs:obs-password http://www.denied.test/) "
statuses+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" --proxy-user obs:wrong http://127.0.0.1:28280/hello.txt) "
statuses+="$(curl -s -o /dev/null -w '%{http_code}' -x "$LB" --proxy-user slow:obs-password http://127.0.0.1:28280/hello.txt "http://127.0.0.1:28280/hello.txt" -o /dev/null) "
detail="$statuses"
check "traffic: 20 forwards, a CONNECT, a denial, an auth failure, a 429" \
  bash -c '[[ "$0" == *"200 200 200 403 407 "*"429"* ]]' "$statuses"

# Two scrapes after the traffic (5 s interval), then every panel's queries.
sleep 11
dash_total=0
for dash in "$root"/deploy/grafana/dashboards/*.json; do
  name=$(basename "$dash")
  while IFS=$'\t' read -r title expr; do
    dash_total=$((dash_total + 1))
    q=${expr//\$__rate_interval/1m}
    q=${q//\$__interval/15s}
    q=${q//\$node/.*}
    answer=$(curl -s --get --data-urlencode "query=$q" "http://$PROM/api/v1/query")
    st=$(jq -r '.status' <<<"$answer" 2>/dev/null)
    n=$(jq -r '.data.result | length' <<<"$answer" 2>/dev/null)
    detail="$q -> status $st, $n series $(jq -r '.error // empty' <<<"$answer" 2>/dev/null)"
    check "$name: \"$title\": $expr" bash -c '[[ "$0" == success && "$1" -gt 0 ]]' "$st" "$n"
  done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$dash")
done
detail="no panel query found"
check "the dashboards hold panel queries ($dash_total)" test "$dash_total" -gt 0

rules=$(curl -s "http://$PROM/api/v1/rules" | jq '[.data.groups[].rules[]] | length')
detail="$rules rules"
check "Prometheus loaded the alert rules" test "${rules:-0}" -ge 5
firing=$(curl -s "http://$PROM/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state == "firing") | .labels.alertname] | join(",")')
detail="firing: $firing"
check "no alert fires on a healthy cluster" test -z "$firing"

echo "$passed passed, $failed failed"
((failed == 0))
