#!/usr/bin/env bash
# Checks the deployment assets (Dockerfile, entry point, docker-compose, HAProxy, Kubernetes)
# with what runs on this machine; there is no Docker daemon and no Kubernetes cluster here, so
# no image is built, no container started, no manifest applied. What is checked:
#   - YAML syntax of the compose file, every manifest and the Prometheus/Grafana files (yamllint);
#   - the compose file against Compose's schema (Debian's docker-compose, `config`), and its
#     meaning: three nodes with fixed IPs = POD_IP = the member list, HAProxy, Prometheus and
#     Grafana with their files mounted, loopback-only ports, a stop grace above the drain delay
#     and timeout;
#   - `haproxy -c` on haproxy/haproxy.cfg, and that it balances every compose node on /readyz;
#   - `bash -n` of the shell scripts, shellcheck of the entry point;
#   - the Dockerfile's essentials (base image, numeric non-root user, /data, ports, health check);
#   - `kubectl kustomize` of deploy/k8s (when kubectl is installed) and the manifests' meaning:
#     probes, the preStop drain, grace period > drain wait >= drainDelay + drainTimeout, POD_IP from the
#     downward API, every ${VAR} of the config template provided, members = the StatefulSet's
#     DNS names, the headless/LoadBalancer/control Services, the PDB, the Secret's keys;
#   - the real node jar with the configs the containers would run: the entry point renders the
#     Kubernetes ConfigMap's template and the compose environment, the node starts on them
#     (listeners moved to free loopback ports), the seed policy is in force, the entry point's
#     `healthcheck` and `drain` (the preStop hook) work, SIGTERM ends a node with status 0.
# Prints "ok - ..." / "not ok - ..." and "N passed, M failed, K skipped"; exits non-zero on a
# failure. Installs what it lacks (Debian packages: yamllint, jq, haproxy, docker-compose,
# python3-yaml, shellcheck). Environment: TOLLGATE_JAR (default node/target/tollgate.jar, built
# when missing), E2E_ASSETS_PORT (first of the 127.0.0.1 ports used, default 24600), E2E_KEEP=1.
# shellcheck disable=SC2016
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
root="$(cd "$deploy/.." && pwd)"
jar="${TOLLGATE_JAR:-$root/node/target/tollgate.jar}"
base="${E2E_ASSETS_PORT:-24600}"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
py=/usr/bin/python3

passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$1"; [[ -n "${2:-}" ]] && printf '#   %s\n' "$2"; return 0; }
skip() { skipped=$((skipped + 1)); printf 'ok - %s # SKIP %s\n' "$1" "$2"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is the detail otherwise.
check() { local d="$1" out; shift; if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "$(tr '\n' ' ' <<<"$out" | head -c 800)"; fi; }

tmp="$(mktemp -d /tmp/tollgate-assets.XXXXXX)"
node_pid=""
cleanup() {
  [[ -n "$node_pid" ]] && kill -KILL "$node_pid" 2>/dev/null
  if [[ "${E2E_KEEP:-}" == 1 || $failed -gt 0 ]]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v jq >/dev/null || missing+=(jq)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v shellcheck >/dev/null || missing+=(shellcheck)
"$py" -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if ((${#missing[@]} > 0)); then
  echo "# installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# --- syntax ------------------------------------------------------------------------------------
lint='{extends: relaxed, rules: {line-length: disable, document-start: disable, truthy: disable}}'
for f in "$deploy"/docker-compose.yml "$deploy"/k8s/*.yaml "$deploy"/prometheus/*.yml "$deploy"/grafana/provisioning/*/*.yml; do
  [[ -e "$f" ]] || continue
  check "yamllint: ${f#"$deploy"/}" yamllint -s -d "$lint" "$f"
done
for f in "$deploy"/docker-entrypoint.sh "$deploy"/local-cluster.sh "$deploy"/e2e/*.sh; do
  check "bash -n ${f#"$deploy"/}" bash -n "$f"
done
check "shellcheck docker-entrypoint.sh and e2e/assets.sh" shellcheck "$deploy/docker-entrypoint.sh" "$deploy/e2e/assets.sh"
for f in "$deploy"/grafana/dashboards/*.json; do
  [[ -e "$f" ]] || continue
  check "dashboard JSON parses and has panels: ${f#"$deploy"/}" bash -c '[[ $(jq ".panels | length" "$0") -gt 0 ]]' "$f"
done

# --- Dockerfile --------------------------------------------------------------------------------
df="$deploy/Dockerfile"
check "Dockerfile: FROM eclipse-temurin:17-jre" grep -qx 'FROM eclipse-temurin:17-jre' "$df"
check "Dockerfile: runs as a numeric non-root user" bash -c 'u=$(sed -n "s/^USER \([0-9]*\).*/\1/p" "$0" | tail -n1); [[ -n $u && $u != 0 ]]' "$df"
check "Dockerfile: /data volume, ports 3128 9090 5701" bash -c 'grep -qx "VOLUME /data" "$0" && grep -qx "EXPOSE 3128 9090 5701" "$0"' "$df"
check "Dockerfile: HEALTHCHECK and ENTRYPOINT through docker-entrypoint.sh" bash -c 'grep -q "docker-entrypoint.sh\", \"healthcheck\"" "$0" && grep -q "^ENTRYPOINT \[\"/opt/tollgate/docker-entrypoint.sh\"\]" "$0"' "$df"
check "Dockerfile: copies files that exist (paths from the repository root)" bash -c '
  for src in $(sed -n "s/^COPY \(--[^ ]* \)*\([^ ]*\) .*/\2/p" "$0"); do
    [[ $src == node/target/tollgate.jar || -e "$1/$src" ]] || { echo "missing $src"; exit 1; }
  done' "$df" "$root"
check "entry point: execs java with the five module flags of the cluster contract" bash -c '
  for f in "--add-opens java.base/java.lang=ALL-UNNAMED" "--add-opens java.base/sun.nio.ch=ALL-UNNAMED" \
           "--add-opens java.management/sun.management=ALL-UNNAMED" \
           "--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED" \
           "--add-exports java.base/jdk.internal.ref=ALL-UNNAMED"; do grep -qF -- "$f" "$0" || { echo "no $f"; exit 1; }; done
  grep -q "^exec java" "$0"' "$deploy/docker-entrypoint.sh"

# --- compose -----------------------------------------------------------------------------------
dc_token=assets-check-token-0123456789
check "docker-compose config: the compose file is valid" \
  env TOLLGATE_CONTROL_TOKEN=$dc_token docker-compose -f "$deploy/docker-compose.yml" config -q
check "docker-compose config: refuses to start without TOLLGATE_CONTROL_TOKEN" \
  bash -c '! env -u TOLLGATE_CONTROL_TOKEN docker-compose -f "$0" config -q' "$deploy/docker-compose.yml"
TOLLGATE_CONTROL_TOKEN=$dc_token docker-compose -f "$deploy/docker-compose.yml" config > "$tmp/compose.yml" 2>"$tmp/compose.err"
check "haproxy -c on haproxy/haproxy.cfg (offline: init-addr none)" haproxy -c -q -f "$deploy/haproxy/haproxy.cfg"

# The meaning of the compose file, the HAProxy config and the manifests, checked in Python on
# the parsed YAML; prints "PASS|FAIL<TAB>description<TAB>detail" lines.
"$py" - "$deploy" "$tmp" > "$tmp/semantic.out" 2>&1 <<'PY'
import ipaddress, json, os, re, sys
import yaml

deploy, tmp = sys.argv[1], sys.argv[2]
def report(ok, desc, detail=""):
    print(("PASS" if ok else "FAIL") + "\t" + desc + "\t" + str(detail).replace("\n", " "))
def check(desc, fn):
    try:
        r = fn()
        report(r is None or r is True, desc, "" if r in (None, True) else r)
    except Exception as e:  # a missing key is a failure of the check, with its name
        report(False, desc, f"{type(e).__name__}: {e}")
def seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(d).strip())
    if not m: raise ValueError(f"not a duration: {d}")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]

# ---- compose (as docker-compose resolved it: anchors merged, variables set)
dc = yaml.safe_load(open(os.path.join(tmp, "compose.yml")))
svc = dc["services"]
nodes = ["tollgate-1", "tollgate-2", "tollgate-3"]
def mounts(s):
    out = []
    for v in s.get("volumes", []):
        if isinstance(v, dict): out.append((v.get("source", ""), v.get("target", "")))
        else:
            p = v.split(":"); out.append((p[0], p[1]))
    return out
def compose_nodes():
    subnet = ipaddress.ip_network(dc["networks"]["tollgate"]["ipam"]["config"][0]["subnet"])
    ips = []
    for n in nodes:
        s = svc[n]
        ip = s["networks"]["tollgate"]["ipv4_address"]
        env = s["environment"]
        if env["POD_IP"] != ip: return f"{n}: POD_IP {env['POD_IP']} is not its address {ip}"
        if ipaddress.ip_address(ip) not in subnet: return f"{n}: {ip} not in {subnet}"
        if "/data" not in [t for _, t in mounts(s)]: return f"{n}: no volume on /data: {mounts(s)}"
        ips.append(ip)
    for n in nodes:
        members = svc[n]["environment"]["TOLLGATE_CLUSTER_MEMBERS"].split(",")
        if sorted(m.strip() for m in members) != sorted(f"{ip}:5701" for ip in ips):
            return f"{n}: members {members} are not the nodes' addresses {ips}"
check("compose: three nodes, each with a fixed IP = POD_IP, the members = those IPs, /data volumes", compose_nodes)
def compose_token():
    toks = {svc[n]["environment"].get("TOLLGATE_CONTROL_TOKEN") for n in nodes}
    if len(toks) != 1 or None in toks: return f"tokens {toks}"
check("compose: one control token shared by the nodes (from the environment)", compose_token)
def compose_grace():
    for n in nodes:
        e = svc[n]["environment"]
        g = seconds(svc[n]["stop_grace_period"]); d = seconds(e.get("TOLLGATE_DRAIN_DELAY", "3s")) + seconds(e.get("TOLLGATE_DRAIN_TIMEOUT", "30s"))
        if not g > d: return f"{n}: stop_grace_period {g}s <= drain delay + timeout {d}s"
check("compose: stop_grace_period longer than the drain delay and timeout", compose_grace)
def compose_health():
    for n in nodes:
        t = svc[n]["healthcheck"]["test"]
        if "healthcheck" not in " ".join(t): return f"{n}: {t}"
check("compose: node health check through the entry point's /healthz check", compose_health)
def has_mount(s, rel, target):
    want = os.path.normpath(os.path.join(deploy, rel))
    for src, tgt in mounts(s):
        if tgt == target and os.path.normpath(os.path.join(deploy, src)) == want: return True
    return False
def compose_haproxy():
    s = svc["haproxy"]
    if not s["image"].startswith("haproxy:2.6"): return f"image {s['image']}"
    if not has_mount(s, "haproxy/haproxy.cfg", "/usr/local/etc/haproxy/haproxy.cfg"): return f"mounts {mounts(s)}"
check("compose: HAProxy 2.6 with haproxy/haproxy.cfg mounted", compose_haproxy)
def compose_prometheus():
    s = svc["prometheus"]
    if not s["image"].startswith("prom/prometheus"): return s["image"]
    cfg = next(a.split("=", 1)[1] for a in s["command"] if a.startswith("--config.file="))
    if not has_mount(s, "prometheus/prometheus-compose.yml", cfg): return f"{cfg} is not prometheus-compose.yml: {mounts(s)}"
    if not has_mount(s, "prometheus/alerts.yml", "/etc/prometheus/alerts.yml"): return f"alerts.yml: {mounts(s)}"
    p = os.path.join(deploy, "prometheus/prometheus-compose.yml")
    if os.path.exists(p):
        pc = yaml.safe_load(open(p))
        if "/etc/prometheus/alerts.yml" not in [os.path.join("/etc/prometheus", r) for r in pc.get("rule_files", [])]:
            return f"prometheus-compose.yml loads {pc.get('rule_files')}, mounted at /etc/prometheus/alerts.yml"
        targets = [t for sc in pc["scrape_configs"] for c in sc.get("static_configs", []) for t in c["targets"]]
        if sorted(targets) != sorted(f"{n}:9090" for n in nodes): return f"scrapes {targets}"
check("compose: Prometheus with prometheus-compose.yml (scraping the three nodes) and alerts.yml", compose_prometheus)
def compose_grafana():
    s = svc["grafana"]
    if not s["image"].startswith("grafana/grafana"): return s["image"]
    if not has_mount(s, "grafana/provisioning", "/etc/grafana/provisioning"): return f"provisioning: {mounts(s)}"
    if not has_mount(s, "grafana/dashboards", "/var/lib/grafana/dashboards"): return f"dashboards: {mounts(s)}"
    prov = os.path.join(deploy, "grafana/provisioning/dashboards")
    if os.path.isdir(prov):
        paths = [p["options"]["path"] for f in os.listdir(prov) if f.endswith((".yml", ".yaml"))
                 for p in yaml.safe_load(open(os.path.join(prov, f))).get("providers", [])]
        if "/var/lib/grafana/dashboards" not in paths: return f"dashboard providers read {paths}"
check("compose: Grafana with grafana/provisioning and grafana/dashboards where the provider reads", compose_grafana)
def compose_ports():
    for name, s in svc.items():
        for p in s.get("ports", []):
            ip = p.get("host_ip") if isinstance(p, dict) else (str(p).split(":")[0] if str(p).count(":") == 2 else None)
            if ip != "127.0.0.1": return f"{name} publishes {p} beyond loopback"
    if "3128" not in json.dumps(svc["haproxy"].get("ports")): return "HAProxy does not publish 3128"
check("compose: every published port is on the host's loopback; HAProxy publishes 3128", compose_ports)

# ---- HAProxy
cfg = open(os.path.join(deploy, "haproxy/haproxy.cfg")).read()
def haproxy_backend():
    servers = re.findall(r"^\s*server\s+\S+\s+(\S+):3128\s+.*check port 9090", cfg, re.M)
    if sorted(servers) != sorted(nodes): return f"servers {servers}"
    if not re.search(r"^\s*mode tcp", cfg, re.M): return "not in TCP mode"
    if not re.search(r"^\s*http-check send meth GET uri /readyz", cfg, re.M): return "no /readyz check"
    if not re.search(r"^\s*bind \S*:3128", cfg, re.M): return "no bind on 3128"
check("haproxy.cfg: TCP on 3128 to every compose node, checked on :9090/readyz", haproxy_backend)

# ---- Kubernetes
k8s = os.path.join(deploy, "k8s")
docs = {}
for f in sorted(os.listdir(k8s)):
    if f.endswith(".yaml") and f != "kustomization.yaml":
        docs[f] = [d for d in yaml.safe_load_all(open(os.path.join(k8s, f))) if d]
objs = [d for ds in docs.values() for d in ds]
def kind(k): return [o for o in objs if o["kind"] == k]
kust = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
check("k8s: kustomization.yaml lists exactly the manifests", lambda:
      sorted(kust["resources"]) == sorted(docs) or f"lists {kust['resources']}, have {sorted(docs)}")
check("k8s: no manifest names a namespace (kustomize or kubectl -n sets it)", lambda:
      all("namespace" not in o["metadata"] for o in objs) or "a metadata.namespace is set")
sts = kind("StatefulSet")[0]
spec = sts["spec"]; pod = spec["template"]["spec"]; c = pod["containers"][0]
labels = spec["template"]["metadata"]["labels"]
env = {e["name"]: e for e in c["env"]}
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
def port_of(p): return ports.get(p, p)
cm = kind("ConfigMap")[0]
conf_text = cm["data"]["config.yaml"]
conf = yaml.safe_load(conf_text)
secret = kind("Secret")[0]
services = {s["metadata"]["name"]: s for s in kind("Service")}
def selects(sel): return all(labels.get(k) == v for k, v in sel.items())
def probe(p, path):
    g = c[p]["httpGet"]
    if g["path"] != path or port_of(g["port"]) != 9090: return f"{p}: {g}"
check("k8s: StatefulSet of 3 with its selector matching the pod labels", lambda:
      (spec["replicas"] == 3 and selects(spec["selector"]["matchLabels"])) or f"replicas {spec['replicas']}")
check("k8s: readinessProbe GET /readyz on 9090", lambda: probe("readinessProbe", "/readyz"))
check("k8s: livenessProbe GET /healthz on 9090", lambda: probe("livenessProbe", "/healthz"))
def prestop():
    cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    if cmd[-1] != "drain" or "docker-entrypoint.sh" not in cmd[0]: return f"preStop {cmd}"
    tok = env["TOLLGATE_CONTROL_TOKEN"]["valueFrom"]["secretKeyRef"]
    if tok["name"] != secret["metadata"]["name"] or tok["key"] not in secret["stringData"]:
        return f"token from {tok}, Secret has {list(secret['stringData'])}"
check("k8s: preStop runs the entry point's drain (POST /v1/drain with the token from the Secret)", prestop)
def grace():
    g = pod["terminationGracePeriodSeconds"]; w = int(env["TOLLGATE_DRAIN_WAIT"]["value"])
    d = seconds(conf["node"]["drainTimeout"]) + seconds(conf["node"].get("drainDelay", 0))
    if not (g > w >= d): return f"grace {g}s, drain wait {w}s, drainDelay + drainTimeout {d}s"
check("k8s: terminationGracePeriodSeconds > preStop wait >= node.drainDelay + node.drainTimeout", grace)
check("k8s: POD_IP, NODE_NAME, NAMESPACE from the downward API", lambda: (
      env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
      and env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
      and env["NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace") or "wrong fieldPath")
def placeholders():
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", conf_text))
    if not {"POD_IP"} <= used: return f"cluster.listen does not use ${{POD_IP}}: {used}"
    if not conf["cluster"]["listen"].startswith("${POD_IP}:"): return f"cluster.listen {conf['cluster']['listen']}"
    missing = used - set(env)
    if missing: return f"config.yaml uses {sorted(missing)} but the container does not set them"
check("k8s: config template: cluster.listen is ${POD_IP}:PORT, every ${VAR} set by the container", placeholders)
def members():
    hz = services[spec["serviceName"]]
    want = [f"{sts['metadata']['name']}-{i}.{hz['metadata']['name']}.${{NAMESPACE}}.svc.cluster.local:5701"
            for i in range(spec["replicas"])]
    if conf["cluster"]["members"] != want: return f"members {conf['cluster']['members']}, want {want}"
    if not conf["cluster"]["enabled"]: return "cluster.enabled is false"
check("k8s: cluster.members are the StatefulSet pods' DNS names through its headless Service", members)
def headless():
    hz = services[spec["serviceName"]]["spec"]
    if hz.get("clusterIP") != "None" or hz.get("publishNotReadyAddresses") is not True: return str(hz)
    if [port_of(p["targetPort"]) for p in hz["ports"]] != [5701] or not selects(hz["selector"]): return str(hz)
check("k8s: headless Service (the StatefulSet's serviceName) for Hazelcast 5701, publishNotReadyAddresses", headless)
def lb():
    s = [v["spec"] for v in services.values() if v["spec"].get("type") == "LoadBalancer"]
    if len(s) != 1 or [port_of(p["targetPort"]) for p in s[0]["ports"]] != [3128] or not selects(s[0]["selector"]): return str(s)
check("k8s: LoadBalancer Service for the proxy port 3128", lb)
def control():
    s = [v for v in services.values() if v["spec"].get("type", "ClusterIP") == "ClusterIP" and v["spec"].get("clusterIP") != "None"]
    if len(s) != 1: return f"{len(s)} ClusterIP services"
    a = s[0]["metadata"].get("annotations", {})
    if a.get("prometheus.io/scrape") != "true" or a.get("prometheus.io/port") != "9090" or a.get("prometheus.io/path") != "/metrics": return str(a)
    if [port_of(p["targetPort"]) for p in s[0]["spec"]["ports"]] != [9090]: return str(s[0]["spec"]["ports"])
check("k8s: ClusterIP Service for the control API 9090 with prometheus.io scrape annotations", control)
def pdb():
    p = kind("PodDisruptionBudget")[0]["spec"]
    if p["minAvailable"] != 2 or not selects(p["selector"]["matchLabels"]): return str(p)
check("k8s: PodDisruptionBudget minAvailable 2 over the pods", pdb)
def volumes():
    vols = {v["name"]: v for v in pod["volumes"]}
    mnt = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    if vols[mnt["/etc/tollgate"]]["configMap"]["name"] != cm["metadata"]["name"]: return "ConfigMap not on /etc/tollgate"
    if set(cm["data"]) != {"config.yaml", "policy.json"}: return f"ConfigMap keys {set(cm['data'])}"
    if conf["policy"] != "/etc/tollgate/policy.json": return f"policy {conf['policy']}"
    json.loads(cm["data"]["policy.json"])
    if vols[mnt["/etc/tollgate-ca"]]["secret"]["secretName"] != secret["metadata"]["name"]: return "Secret not on /etc/tollgate-ca"
    if not {"ca.pem", "ca-key.pem"} <= set(secret["stringData"]): return f"Secret keys {list(secret['stringData'])}"
    if "# mitm:" not in conf_text or "/etc/tollgate-ca/ca.pem" not in conf_text: return "no commented mitm.ca in config.yaml"
    if "/data" not in mnt or conf["node"]["dataDir"] != "/data": return "no /data"
    if not any(t["metadata"]["name"] == mnt["/data"] for t in spec["volumeClaimTemplates"]): return "/data not a claim"
    if "/tmp" not in mnt: return "no writable /tmp (read-only root file system)"
check("k8s: ConfigMap (config.yaml, policy.json), Secret (token, CA placeholders), /data claim mounted", volumes)
def security():
    sc = pod["securityContext"]
    if sc.get("runAsNonRoot") is not True or not sc.get("runAsUser"): return str(sc)
    df = open(os.path.join(deploy, "Dockerfile")).read()
    uid = re.findall(r"^USER (\d+)", df, re.M)
    if [str(sc["runAsUser"])] != uid[-1:]: return f"runAsUser {sc['runAsUser']}, Dockerfile USER {uid}"
    r = c["resources"]
    if not (r["requests"]["cpu"] and r["requests"]["memory"] and r["limits"]["memory"]): return str(r)
check("k8s: non-root as the image's user, resources set", security)
PY
while IFS=$'\t' read -r verdict desc detail; do
  case "$verdict" in
    PASS) ok "$desc" ;;
    FAIL) not_ok "$desc" "$detail" ;;
    *) not_ok "semantic checks ran" "$verdict $desc $detail" ;;
  esac
done < "$tmp/semantic.out"

if command -v kubectl >/dev/null; then
  check "kubectl kustomize deploy/k8s builds" bash -c 'kubectl kustomize "$0" > "$1/k8s.yaml"' "$deploy/k8s" "$tmp"
else
  skip "kubectl kustomize deploy/k8s builds" "kubectl is not installed"
fi

# --- the real node with the rendered configs ---------------------------------------------------
if [[ ! -f "$jar" ]]; then
  echo "# building $jar"
  (cd "$root" && mvn -q -B -DskipTests package) >"$tmp/build.log" 2>&1 || { not_ok "the node jar builds" "$(tail -n 5 "$tmp/build.log")"; }
fi
entry="$deploy/docker-entrypoint.sh"
token=assets-check-control-token-0123
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# run_node NAME CONFIG PORT0 [OPTION...]: starts the jar on CONFIG with its listeners moved to
# 127.0.0.1:PORT0+1 (proxy), +2 (control), +3 (Hazelcast); waits for the ready line.
run_node() {
  local name=$1 config=$2 p=$3; shift 3
  local port
  for port in $((p + 1)) $((p + 2)) $((p + 3)); do
    free "$port" || { echo "127.0.0.1:$port is in use (set E2E_ASSETS_PORT)"; return 1; }
  done
  : >"$tmp/$name.log"
  TOLLGATE_CONTROL_TOKEN=$token java -Xms64m -Xmx256m \
    --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens java.management/sun.management=ALL-UNNAMED \
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
    --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
    -jar "$jar" --config "$config" --proxy-listen "127.0.0.1:$((p + 1))" --control-listen "127.0.0.1:$((p + 2))" \
    --cluster-listen "127.0.0.1:$((p + 3))" --cluster-members "127.0.0.1:$((p + 3))" \
    --data-dir "$tmp/$name-data" "$@" >"$tmp/$name.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 300); do
    grep -q "tollgate ready" "$tmp/$name.log" && return 0
    kill -0 "$node_pid" 2>/dev/null || { tail -n 5 "$tmp/$name.log"; return 1; }
    sleep 0.1
  done
  echo "not ready in 30 s"; return 1
}
wait_exit() { # sets status to the node's exit status once it has exited (at most $1 s)
  for _ in $(seq 1 $(($1 * 10))); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$node_pid" 2>/dev/null; then status="still running"; return 1; fi
  wait "$node_pid"; status="exit $?"; node_pid=""
}

if [[ -f "$jar" ]]; then
  # Kubernetes: the ConfigMap's template as the entry point renders it in a pod.
  mkdir -p "$tmp/k8s-etc"
  "$py" - "$deploy/k8s/configmap.yaml" "$tmp/k8s-etc" <<'PY'
import sys, yaml
cm = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)
for k, v in cm["data"].items(): open(f"{sys.argv[2]}/{k}", "w").write(v)
PY
  k8s_env=(TOLLGATE_CONFIG_TEMPLATE="$tmp/k8s-etc/config.yaml" TOLLGATE_RUN_DIR="$tmp/k8s-run"
           POD_IP=10.1.2.3 NODE_NAME=tollgate-1 NAMESPACE=tollgate)
  check "entry point renders the ConfigMap template: cluster.listen = POD_IP, members in the namespace" bash -c '
    out=$(env "$@" bash "$0" render) || exit 1
    grep -q "listen: 10.1.2.3:5701" <<<"$out" && grep -q "name: tollgate-1$" <<<"$out" \
      && grep -q "tollgate-2.tollgate-hz.tollgate.svc.cluster.local:5701" <<<"$out" && ! grep -q "\\\${" <<<"$out"' \
    "$entry" "${k8s_env[@]}"
  check "entry point refuses a POD_IP that is not an IP, and a template variable that is unset" bash -c '
    ! env "$@" POD_IP=tollgate-0.example bash "$0" render >/dev/null 2>&1 \
    && ! env "$@" NAMESPACE= bash "$0" render >/dev/null 2>&1' "$entry" "${k8s_env[@]}"
  if out=$(env "${k8s_env[@]}" POD_IP=127.0.0.1 bash "$entry" render 2>&1); then
    if run_node k8s "$tmp/k8s-run/config.yaml" "$base" --policy "$tmp/k8s-etc/policy.json" >"$tmp/run.out"; then
      ok "the node starts on the Kubernetes config (ConfigMap template rendered, seed policy)"
      cp="$((base + 2))"
      check "the seed policy is version 1 and denies by default (403)" bash -c '
        v=$(curl -s -H "authorization: Bearer $1" "http://127.0.0.1:$0/v1/policy" | jq -r .version)
        c=$(curl -s -o /dev/null -w "%{http_code}" -x "127.0.0.1:$2" http://example.com/)
        [[ $v == 1 && $c == 403 ]] || { echo "version $v, status $c"; exit 1; }' "$cp" "$token" "$((base + 1))"
      check "entry point healthcheck: 0 while the node runs" env TOLLGATE_CONTROL_PORT="$cp" bash "$entry" healthcheck
      check "entry point drain (the preStop hook): POST /v1/drain, waits until the node has exited" \
        env TOLLGATE_CONTROL_PORT="$cp" TOLLGATE_CONTROL_TOKEN="$token" TOLLGATE_DRAIN_WAIT=30 bash "$entry" drain
      wait_exit 5
      check "the drained node exited with status 0 ($status)" test "$status" = "exit 0"
      check "the node logged its drain" grep -q "drained" "$tmp/k8s.log"
      check "entry point healthcheck: non-zero once the node is gone" bash -c '! env TOLLGATE_CONTROL_PORT="$0" bash "$1" healthcheck' "$cp" "$entry"
    else
      not_ok "the node starts on the Kubernetes config (ConfigMap template rendered, seed policy)" "$(cat "$tmp/run.out")"
    fi
  else
    not_ok "the entry point renders the Kubernetes config with POD_IP=127.0.0.1" "$out"
  fi

  # Compose: the environment of tollgate-1 as docker-compose resolved it, without a template.
  mapfile -t dc_env < <("$py" - "$tmp/compose.yml" <<'PY'
import sys, yaml
env = yaml.safe_load(open(sys.argv[1]))["services"]["tollgate-1"]["environment"]
for k, v in env.items():
    if k not in ("JAVA_OPTS",): print(f"{k}={v}")
PY
  )
  if out=$(env "${dc_env[@]}" TOLLGATE_CONFIG_TEMPLATE=/nonexistent TOLLGATE_RUN_DIR="$tmp/compose-run" bash "$entry" render 2>&1); then
    check "entry point renders tollgate-1's compose environment: cluster on 172.28.0.11:5701 with three members" \
      bash -c 'grep -q "listen: \"172.28.0.11:5701\", members: \[\"172.28.0.11:5701\",\"172.28.0.12:5701\",\"172.28.0.13:5701\"\]" <<<"$0"' "$out"
    if run_node compose "$tmp/compose-run/config.yaml" $((base + 10)) >"$tmp/run.out"; then
      ok "the node starts on the compose config"
      kill -TERM "$node_pid"
      wait_exit 40
      check "SIGTERM (docker stop) drains the compose node and it exits with status 0 ($status)" test "$status" = "exit 0"
    else
      not_ok "the node starts on the compose config" "$(cat "$tmp/run.out")"
    fi
  else
    not_ok "entry point renders tollgate-1's compose environment" "$out"
  fi
else
  skip "the node runs on the rendered Kubernetes and compose configs" "no jar at $jar"
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
