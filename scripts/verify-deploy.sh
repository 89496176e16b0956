#!/usr/bin/env bash
# Checks what can be checked of deploy/ and of the .deb on a Debian 12 machine
# without a container engine or a cluster. Run as root from anywhere:
#
#   scripts/verify-deploy.sh [--keep] [--chroot]
#
#   (a) systemd unit: systemd-analyze verify (+ the offline security score)
#   (b) every YAML file under deploy/ parses; the compose file, the collector
#       configuration and the Kubernetes manifests are checked for consistency
#   (c) the RUN commands of deploy/Dockerfile's build stage and of the exporter
#       stage, extracted from the Dockerfile and run in a scratch copy of the
#       repository (paths /src, /build, /out rewritten to scratch directories)
#   (d) the .deb built by (c): Depends resolvable from the Debian archive,
#       installed with apt-get, `bpftrace-otel --version`, the installed unit
#       verified, then purged
#   --chroot  also installs the .deb into a fresh Debian 12 minbase chroot
#             (debootstrap; downloads ~250 MB): proves the package's Depends
#             are complete on a system that has nothing else installed, as in
#             the bookworm-slim image
#   --keep    keep the scratch directory
#
# What (c) proves: the package names of the build stage exist in Debian 12,
# the build stage's exact commands build the binary, the demo and the .deb on
# Debian 12, and the exporter stage's install command installs the .deb. What
# it does not prove: this host has more packages than the image (tests,
# benchmarks), so a build dependency missing from the Dockerfile could go
# unnoticed here; that is why (c) also checks the Dockerfile's package list
# against scripts/install-deps.sh. Nor anything Docker itself does: COPY and
# the .dockerignore, BuildKit mounts, the images at run time, capabilities
# inside a real container. Those need a Docker engine.
#
# Needs: python3-yaml (python3 from /usr/bin), systemd (systemd-analyze),
# cmake, ninja, dpkg-dev, file; debootstrap for --chroot.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
keep=0
with_chroot=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --chroot) with_chroot=1 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "run as root: (c) installs build packages, (d) installs and removes the .deb" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
jobs=${BTO_JOBS:-2}
scratch=$(mktemp -d /tmp/bto-verify-deploy.XXXXXX)
cleanup() {
  # Never delete through a mount (the chroot's /proc).
  if mountpoint -q "$scratch/chroot/proc" 2>/dev/null; then umount "$scratch/chroot/proc"; fi
  if [[ $keep -eq 0 ]]; then rm -rf --one-file-system "$scratch"; else echo "scratch kept: $scratch"; fi
}
trap cleanup EXIT

declare -a summary=()
failed=0
record() {  # record NAME PASS|FAIL|SKIP [detail]
  summary+=("$(printf '%-4s  %s%s' "$2" "$1" "${3:+ ($3)}")")
  [[ $2 == FAIL ]] && failed=1
  return 0
}
section() { printf '\n==== %s\n' "$*"; }
PY=/usr/bin/python3

# ------------------------------------------------------------------ (a) systemd
section "(a) systemd unit"
unit_src=$repo/deploy/systemd/bpftrace-otel.service
if ! command -v systemd-analyze >/dev/null; then
  apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
# The unit names /usr/bin/bpftrace-otel, which exists only once installed:
# verify a copy naming an executable that exists (the installed unit is
# verified again in (d)).
mkdir -p "$scratch/unit"
sed 's|^ExecStart=/usr/bin/bpftrace-otel|ExecStart=/bin/true|' "$unit_src" >"$scratch/unit/bpftrace-otel.service"
if out=$(systemd-analyze verify --man=no "$scratch/unit/bpftrace-otel.service" 2>&1) && [[ -z $out ]]; then
  record "(a) systemd-analyze verify deploy/systemd/bpftrace-otel.service" PASS
else
  echo "$out"
  record "(a) systemd-analyze verify deploy/systemd/bpftrace-otel.service" FAIL "see output above"
fi
if score=$(systemd-analyze security --offline=yes "$scratch/unit/bpftrace-otel.service" 2>/dev/null | tail -1); then
  echo "$score"
  record "(a) systemd-analyze security --offline (information only)" PASS "${score#*: }"
fi
if bash -n "$repo/deploy/bto-find-target" && sh -n "$repo/deploy/bto-find-target"; then
  record "(a) deploy/bto-find-target parses (sh -n)" PASS
else
  record "(a) deploy/bto-find-target parses (sh -n)" FAIL
fi

# ------------------------------------------------------------------ (b) YAML
section "(b) YAML files"
if ! $PY -c 'import yaml' 2>/dev/null; then
  apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
fi
if $PY - "$repo" <<'PYEOF'; then record "(b) YAML parse + compose/collector/Kubernetes checks" PASS; else record "(b) YAML parse + compose/collector/Kubernetes checks" FAIL "see output above"; fi
import glob, os, re, sys
import yaml

repo = sys.argv[1]
deploy = os.path.join(repo, "deploy")
problems = []
def check(cond, message):
    if not cond:
        problems.append(message)
    return cond

docs = {}
for path in sorted(glob.glob(os.path.join(deploy, "**", "*.y*ml"), recursive=True)):
    rel = os.path.relpath(path, repo)
    try:
        with open(path) as f:
            docs[rel] = [d for d in yaml.safe_load_all(f) if d is not None]
        print(f"parsed {rel}: {len(docs[rel])} document(s)")
    except yaml.YAMLError as e:
        problems.append(f"{rel}: {e}")

dockerfile = open(os.path.join(deploy, "Dockerfile")).read()
stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
known_caps = {"BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "SYS_RESOURCE"}
expected_caps = {"BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"}
scripts = {os.path.relpath(p, os.path.join(repo, "examples", "scripts"))
           for p in glob.glob(os.path.join(repo, "examples", "scripts", "**", "*.bt"), recursive=True)}
def packaged_script_ok(path, where):
    prefix = "/usr/share/bpftrace-otel/scripts/"
    if path.startswith(prefix):
        check(path[len(prefix):] in scripts, f"{where}: {path} is not in examples/scripts/")

# ---- compose
compose = docs.get("deploy/docker-compose.yml", [{}])[0]
services = compose.get("services", {})
for name in ("app", "exporter", "otel-collector", "jaeger"):
    check(name in services, f"compose: service {name} missing")
allowed_keys = {"build", "image", "command", "entrypoint", "environment", "pid", "depends_on", "user",
                "cap_add", "cap_drop", "ulimits", "security_opt", "read_only", "tmpfs", "volumes",
                "restart", "stop_grace_period", "ports", "healthcheck", "init", "privileged"}
for name, svc in services.items():
    for key in svc:
        check(key in allowed_keys, f"compose: service {name}: unexpected key {key}")
    build = svc.get("build")
    if isinstance(build, dict):
        ctx = os.path.normpath(os.path.join(deploy, build.get("context", ".")))
        check(os.path.isfile(os.path.join(ctx, build.get("dockerfile", "Dockerfile"))),
              f"compose: {name}: dockerfile not found from context")
        check(build.get("target") in stages, f"compose: {name}: target {build.get('target')} is no Dockerfile stage {sorted(stages)}")
    for dep in svc.get("depends_on", {}) or {}:
        check(dep in services, f"compose: {name} depends on unknown service {dep}")
    for vol in svc.get("volumes", []) or []:
        src = vol.get("source") if isinstance(vol, dict) else vol.split(":")[0]
        if src.startswith("./") or src.startswith("../"):
            check(os.path.exists(os.path.join(deploy, src)), f"compose: {name}: volume source {src} missing")
        elif src.startswith("/"):
            check(os.path.isdir(src), f"compose: {name}: host path {src} does not exist on this host")
exporter = services.get("exporter", {})
check(exporter.get("pid") == "service:app", "compose: exporter must share the app's PID namespace (pid: service:app)")
check(exporter.get("cap_drop") == ["ALL"], "compose: exporter must drop ALL capabilities first")
check(set(exporter.get("cap_add", [])) == expected_caps, f"compose: exporter cap_add {exporter.get('cap_add')} != {sorted(expected_caps)}")
check(not exporter.get("privileged"), "compose: exporter must not be privileged")
env = exporter.get("environment", {})
check("BPF_SCRIPT" in env and "OTEL_EXPORTER_OTLP_ENDPOINT" in env, "compose: exporter needs BPF_SCRIPT and OTEL_EXPORTER_OTLP_ENDPOINT")
packaged_script_ok(env.get("BPF_SCRIPT", ""), "compose exporter BPF_SCRIPT")
endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
m = re.match(r"https?://([^:/]+)", endpoint)
check(m and m.group(1) in services, f"compose: endpoint {endpoint} does not name a service")

# ---- collector
col = docs.get("deploy/otel-collector.yaml", [{}])[0]
pipes = col.get("service", {}).get("pipelines", {})
check("traces" in pipes, "collector: no traces pipeline")
for pname, pipe in pipes.items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in pipe.get(kind, []):
            check(comp in (col.get(kind) or {}), f"collector: pipeline {pname} uses undefined {kind[:-1]} {comp}")
protos = col.get("receivers", {}).get("otlp", {}).get("protocols", {})
check(protos.get("http", {}).get("endpoint", "").endswith(":4318"), "collector: OTLP/HTTP must listen on 4318")
check(protos.get("grpc", {}).get("endpoint", "").endswith(":4317"), "collector: OTLP/gRPC must listen on 4317")
jaeger_exp = [v for k, v in (col.get("exporters") or {}).items() if k.startswith("otlp")]
check(jaeger_exp and jaeger_exp[0].get("endpoint") == "jaeger:4317", "collector: otlp exporter must point at jaeger:4317")

# ---- Kubernetes
def containers_of(doc):
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec, spec.get("containers", [])
for rel in ("deploy/kubernetes/sidecar.yaml", "deploy/kubernetes/daemonset.yaml"):
    configmaps = {}
    for doc in docs.get(rel, []):
        check("apiVersion" in doc and "kind" in doc and doc.get("metadata", {}).get("name"),
              f"{rel}: a document lacks apiVersion/kind/metadata.name")
        if doc.get("kind") == "ConfigMap":
            configmaps[doc["metadata"]["name"]] = doc.get("data", {})
    for doc in docs.get(rel, []):
        if doc.get("kind") not in ("Deployment", "DaemonSet"):
            continue
        spec, containers = containers_of(doc)
        sel = doc["spec"].get("selector", {}).get("matchLabels", {})
        labels = doc["spec"]["template"].get("metadata", {}).get("labels", {})
        check(sel and all(labels.get(k) == v for k, v in sel.items()), f"{rel}: selector does not match template labels")
        if doc["kind"] == "Deployment":
            check(spec.get("shareProcessNamespace") is True, f"{rel}: sidecar needs shareProcessNamespace: true")
        else:
            check(spec.get("hostPID") is True, f"{rel}: DaemonSet needs hostPID: true")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in containers:
            check(c.get("name") and c.get("image"), f"{rel}: container without name or image")
            defined = set()
            for e in c.get("env", []):
                for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(e.get("value", ""))):
                    check(ref in defined, f"{rel}: {c['name']}: env {e['name']} uses $({ref}) before it is defined")
                defined.add(e["name"])
            for vm in c.get("volumeMounts", []):
                check(vm["name"] in volumes, f"{rel}: {c['name']}: volumeMount {vm['name']} has no volume")
            caps = c.get("securityContext", {}).get("capabilities", {})
            if c["name"] == "bpftrace-otel":
                check(caps.get("drop") == ["ALL"], f"{rel}: exporter must drop ALL")
                check(set(caps.get("add", [])) == expected_caps, f"{rel}: exporter caps {caps.get('add')} != {sorted(expected_caps)}")
                sc = c.get("securityContext", {})
                check(not (sc.get("allowPrivilegeEscalation") is False and "SYS_ADMIN" in caps.get("add", [])),
                      f"{rel}: allowPrivilegeEscalation false + SYS_ADMIN is rejected by the API server")
                cenv = {e["name"]: e.get("value", "") for e in c.get("env", [])}
                check(cenv.get("TARGET_EXE", "").startswith("/"), f"{rel}: exporter needs TARGET_EXE (absolute)")
                check("OTEL_RESOURCE_ATTRIBUTES" in cenv, f"{rel}: exporter should set OTEL_RESOURCE_ATTRIBUTES")
                script = cenv.get("BPF_SCRIPT", "")
                packaged_script_ok(script, f"{rel} BPF_SCRIPT")
                for vm in c.get("volumeMounts", []):
                    vol = volumes.get(vm["name"], {})
                    if "configMap" in vol and script.startswith(vm["mountPath"] + "/"):
                        key = script[len(vm["mountPath"]) + 1:]
                        check(key in configmaps.get(vol["configMap"]["name"], {}),
                              f"{rel}: BPF_SCRIPT {script} is not a key of ConfigMap {vol['configMap']['name']}")
                check(c.get("command", [""])[0] == "/usr/local/bin/bto-find-target", f"{rel}: exporter should start through bto-find-target")
            for v in volumes.values():
                if "hostPath" in v:
                    hp = v["hostPath"]
                    exists = os.path.isfile if hp.get("type") == "File" else os.path.isdir
                    check(exists(hp["path"]), f"{rel}: hostPath {hp['path']} ({hp.get('type', 'Directory')}) missing on this host")
    for name, data in configmaps.items():
        for key, text in data.items():
            src = os.path.join(repo, "examples", "scripts", key)
            if os.path.isfile(src):
                check(open(src).read() == text, f"{rel}: ConfigMap {name}/{key} differs from examples/scripts/{key}")

# ---- the Collector with k8sattributes next to the DaemonSet (docs/resources.md)
rel = "deploy/kubernetes/otel-collector.yaml"
kdocs = docs.get(rel, [])
check(kdocs, f"{rel}: missing")
def of_kind(kind):
    return [d for d in kdocs if d.get("kind") == kind]
for doc in kdocs:
    check("apiVersion" in doc and "kind" in doc and doc.get("metadata", {}).get("name"),
          f"{rel}: a document lacks apiVersion/kind/metadata.name")
cms = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind("ConfigMap")}
kcol = {}
if check("otel-collector-config" in cms and "config.yaml" in cms["otel-collector-config"],
         f"{rel}: ConfigMap otel-collector-config with config.yaml missing"):
    kcol = yaml.safe_load(cms["otel-collector-config"]["config.yaml"]) or {}
kproc = (kcol.get("processors") or {}).get("k8sattributes") or {}
check(kproc, f"{rel}: no k8sattributes processor")
# Keys of the processor's documentation (processor/k8sattributesprocessor/README.md, 0.129-0.14x).
check(set(kproc) <= {"auth_type", "passthrough", "filter", "extract", "pod_association", "exclude",
                     "wait_for_metadata", "wait_for_metadata_timeout", "kube_config_path", "context"},
      f"{rel}: k8sattributes has undocumented keys {sorted(set(kproc))}")
check(kproc.get("auth_type") in ("serviceAccount", None), f"{rel}: auth_type must be serviceAccount in a pod")
check(kproc.get("passthrough") is not True, f"{rel}: passthrough would extract nothing")
check(set(kproc.get("filter", {})) <= {"node", "node_from_env_var", "namespace", "fields", "labels"},
      f"{rel}: undocumented filter keys {sorted(kproc.get('filter', {}))}")
documented_metadata = {
    "k8s.namespace.name", "k8s.pod.name", "k8s.pod.hostname", "k8s.pod.ip", "k8s.pod.start_time", "k8s.pod.uid",
    "k8s.replicaset.uid", "k8s.replicaset.name", "k8s.deployment.uid", "k8s.deployment.name", "k8s.daemonset.uid",
    "k8s.daemonset.name", "k8s.statefulset.uid", "k8s.statefulset.name", "k8s.cronjob.uid", "k8s.cronjob.name",
    "k8s.job.uid", "k8s.job.name", "k8s.node.name", "k8s.node.uid", "k8s.cluster.uid", "k8s.container.name",
    "container.id", "container.image.name", "container.image.tag", "container.image.repo_digests",
    "service.namespace", "service.name", "service.version", "service.instance.id"}
extract = kproc.get("extract", {})
metadata = extract.get("metadata", [])
check(set(extract) <= {"metadata", "labels", "annotations", "otel_annotations", "deployment_name_from_replicaset"},
      f"{rel}: undocumented extract keys {sorted(extract)}")
check(set(metadata) <= documented_metadata, f"{rel}: undocumented metadata {sorted(set(metadata) - documented_metadata)}")
check("k8s.pod.uid" in metadata, f"{rel}: k8s.pod.uid must be extracted to associate on it")
check(any(m == "k8s.container.name" or m.startswith("container.") for m in metadata),
      f"{rel}: container.id association needs a container attribute in extract.metadata")
for label in extract.get("labels", []) + extract.get("annotations", []):
    check(set(label) <= {"tag_name", "key", "key_regex", "from"} and label.get("from", "pod") in
          {"pod", "namespace", "node", "deployment", "statefulset", "daemonset", "job"},
          f"{rel}: bad label/annotation rule {label}")
assoc = [[(src.get("from"), src.get("name")) for src in a.get("sources", [])] for a in kproc.get("pod_association", [])]
check(assoc == [[("resource_attribute", "k8s.pod.uid")], [("resource_attribute", "container.id")]],
      f"{rel}: pod_association must be k8s.pod.uid, then container.id (got {assoc})")
# What the association keys on is what bpftrace-otel sets (src/resource) and documents.
resource_src = open(os.path.join(repo, "src", "resource", "process_resource.cpp")).read()
resources_doc = open(os.path.join(repo, "docs", "resources.md")).read()
for key in ("k8s.pod.uid", "container.id"):
    check(f'"{key}"' in resource_src, f"src/resource/process_resource.cpp does not set {key}")
    check(f"`{key}`" in resources_doc, f"docs/resources.md does not document {key}")
kpipes = (kcol.get("service") or {}).get("pipelines", {})
for signal in ("traces", "metrics"):
    pipe = kpipes.get(signal, {})
    procs = pipe.get("processors", [])
    check("k8sattributes" in procs, f"{rel}: {signal} pipeline lacks k8sattributes")
    check("batch" not in procs or procs.index("k8sattributes") < procs.index("batch"),
          f"{rel}: {signal}: k8sattributes must come before batch")
    for kind in ("receivers", "processors", "exporters"):
        for comp in pipe.get(kind, []):
            check(comp in (kcol.get(kind) or {}), f"{rel}: pipeline {signal} uses undefined {kind[:-1]} {comp}")
kprotos = (kcol.get("receivers") or {}).get("otlp", {}).get("protocols", {})
check(kprotos.get("http", {}).get("endpoint", "").endswith(":4318"), f"{rel}: OTLP/HTTP must listen on 4318")
# RBAC: what the processor reads, bound to the account the collector runs as.
rules = [r for d in of_kind("ClusterRole") for r in d.get("rules", [])]
def allowed(group, resource):
    return any(group in r.get("apiGroups", []) and resource in r.get("resources", []) and
               {"get", "watch", "list"} <= set(r.get("verbs", [])) for r in rules)
check(allowed("", "pods") and allowed("", "namespaces"), f"{rel}: ClusterRole must get/watch/list pods and namespaces")
if "k8s.deployment.name" in metadata and not extract.get("deployment_name_from_replicaset"):
    check(allowed("apps", "replicasets"), f"{rel}: k8s.deployment.name needs replicasets get/watch/list")
kds = of_kind("DaemonSet")
check(len(kds) == 1, f"{rel}: expected one collector DaemonSet")
if kds:
    spec, containers = containers_of(kds[0])
    account = spec.get("serviceAccountName")
    bound = [s for d in of_kind("ClusterRoleBinding") for s in d.get("subjects", [])
             if d.get("roleRef", {}).get("name") in {r["metadata"]["name"] for r in of_kind("ClusterRole")}]
    check(any(s.get("name") == account and s.get("namespace") == kds[0]["metadata"].get("namespace") for s in bound),
          f"{rel}: the collector's ServiceAccount {account} is not bound to the ClusterRole")
    sel = kds[0]["spec"].get("selector", {}).get("matchLabels", {})
    labels = kds[0]["spec"]["template"].get("metadata", {}).get("labels", {})
    check(sel and all(labels.get(k) == v for k, v in sel.items()), f"{rel}: selector does not match template labels")
    env_var = kproc.get("filter", {}).get("node_from_env_var")
    for c in containers:
        names = {e["name"] for e in c.get("env", [])}
        check(not env_var or env_var in names, f"{rel}: {c['name']} lacks env {env_var} (filter.node_from_env_var)")
        config_arg = [a for a in c.get("args", []) if a.startswith("--config=")]
        mounts = {vm["mountPath"] for vm in c.get("volumeMounts", [])}
        check(config_arg and os.path.dirname(config_arg[0][len("--config="):]) in mounts,
              f"{rel}: --config does not point into a mounted volume")
# The exporter DaemonSet's endpoint is this Service.
svc = [d for d in of_kind("Service") if d["metadata"]["name"] == "otel-collector"]
exporter_env = {}
for doc in docs.get("deploy/kubernetes/daemonset.yaml", []):
    if doc.get("kind") == "DaemonSet":
        for c in containers_of(doc)[1]:
            exporter_env.update({e["name"]: e.get("value", "") for e in c.get("env", [])})
if check(svc, f"{rel}: Service otel-collector missing"):
    host = f"{svc[0]['metadata']['name']}.{svc[0]['metadata'].get('namespace', 'default')}"
    check(exporter_env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == f"http://{host}:4318",
          f"daemonset.yaml: exporter endpoint {exporter_env.get('OTEL_EXPORTER_OTLP_ENDPOINT')} is not http://{host}:4318")
    check({p.get("port") for p in svc[0]["spec"].get("ports", [])} >= {4317, 4318}, f"{rel}: Service needs 4317 and 4318")

for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PYEOF

# ------------------------------------------------------------------ (c) Dockerfile
section "(c) Dockerfile build steps, run on this host"
dockerfile=$repo/deploy/Dockerfile
# The RUN commands of one stage, continuation lines joined, one per line.
stage_runs() {
  awk -v stage="$1" '
    /^FROM[ \t]/ { in_stage = (tolower($0) ~ (" as " stage "$")) ; next }
    !in_stage { next }
    /^[ \t]*#/ { next }
    cont || /^RUN[ \t]/ {
      line = $0
      sub(/^RUN[ \t]+/, "", line)
      # BuildKit flags (--mount=...) only exist for docker build.
      while (line ~ /^--[a-z]+=[^ \t]*[ \t]+/) sub(/^--[a-z]+=[^ \t]*[ \t]+/, "", line)
      if (line ~ /\\$/) { sub(/\\$/, "", line); buf = buf line; cont = 1; next }
      buf = buf line; print buf; buf = ""; cont = 0
    }' "$dockerfile"
}
mapfile -t build_runs < <(stage_runs build)
mapfile -t exporter_runs < <(stage_runs exporter)
echo "build stage: ${#build_runs[@]} RUN commands; exporter stage: ${#exporter_runs[@]}"

# The build stage must install what scripts/install-deps.sh calls build and library packages.
deps_missing=$(
  awk '/^packages=\(/{on=1; next} on && /^\)/{on=0} on' "$repo/scripts/install-deps.sh" |
    awk '/# tests|# runtime/{stop=1} /^ *#/{next} !stop' | tr ' ' '\n' | grep -v '^$' |
    while read -r pkg; do
      grep -qw -- "$pkg" <<<"${build_runs[0]:-}" || echo "$pkg"
    done)
if [[ -z $deps_missing ]]; then
  record "(c) Dockerfile build stage installs every build/library package of scripts/install-deps.sh" PASS
else
  record "(c) Dockerfile build stage installs every build/library package of scripts/install-deps.sh" FAIL "missing: $(echo $deps_missing)"
fi

src=$scratch/src build=$scratch/build outdir=$scratch/out
mkdir -p "$src"
# COPY . . with deploy/Dockerfile.dockerignore's main exclusions.
tar -C "$repo" --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude=./.cache \
  --exclude=./node_modules --exclude=./tests/receiver/gen --exclude='*.deb' -cf - . | tar -C "$src" -xf -
if ! grep -q 'include(cmake/packaging.cmake)' "$src/CMakeLists.txt"; then
  echo "NOTE: CMakeLists.txt does not include cmake/packaging.cmake yet; adding it to the scratch copy only"
  echo 'include(cmake/packaging.cmake)' >>"$src/CMakeLists.txt"
  record "(c) CMakeLists.txt includes cmake/packaging.cmake" FAIL "added to the scratch copy only"
fi
# Dockerfile paths -> scratch paths; keep the host's apt lists; never upgrade
# the host's packages (the image starts from none); at most $jobs jobs.
rewrite() {
  sed -e "s|/src|$src|g" -e "s|/build|$build|g" -e "s|/out|$outdir|g" \
      -e 's|&& rm -rf /var/lib/apt/lists/\*||g' -e "s|-j\"\$(nproc)\"|-j$jobs|g" \
      -e 's|apt-get install |apt-get install --no-upgrade |g' \
      -e "s|/usr/local/bin/bto-find-target|$scratch/bto-find-target|g"
}
# apt verifies signatures as user _apt in $TMPDIR (default /tmp): give it a
# world-writable one if /tmp is not.
if [[ $(stat -c %a /tmp) != 1777 ]]; then
  chmod 755 "$scratch"
  mkdir -m 1777 "$scratch/apt-tmp"
  export TMPDIR=$scratch/apt-tmp
  echo "NOTE: /tmp is not mode 1777; apt uses TMPDIR=$TMPDIR"
fi
step=0
ok=1
for cmd in "${build_runs[@]}"; do
  step=$((step + 1))
  cmd=$(rewrite <<<"$cmd")
  echo "---- build RUN $step: $cmd"
  if ! (cd "$src" && bash -euo pipefail -c "$cmd"); then
    record "(c) build stage RUN $step" FAIL "$(cut -c1-80 <<<"$cmd")..."
    ok=0
    break
  fi
  record "(c) build stage RUN $step" PASS "$(cut -c1-70 <<<"$cmd")..."
done
deb=$outdir/bpftrace-otel.deb
if [[ $ok -eq 1 && -f $deb ]]; then
  preinstalled=0
  dpkg-query -W -f='${Status}' bpftrace-otel 2>/dev/null | grep -q "install ok installed" && preinstalled=1
  step=0
  for cmd in "${exporter_runs[@]}"; do
    step=$((step + 1))
    cmd=$(rewrite <<<"$cmd")
    echo "---- exporter RUN $step: $cmd"
    if (cd "$scratch" && bash -euo pipefail -c "$cmd"); then
      record "(c) exporter stage RUN $step (installs the .deb)" PASS
      if [[ -L $scratch/bto-find-target ]]; then
        [[ -x $scratch/bto-find-target ]] && record "(c) exporter stage: bto-find-target link resolves" PASS \
                                          || record "(c) exporter stage: bto-find-target link resolves" FAIL
      fi
    else
      record "(c) exporter stage RUN $step (installs the .deb)" FAIL
      ok=0
    fi
  done
  # dpkg knows merged-/usr paths by the name they were packaged under: try both.
  demo_libs=$(ldd "$outdir/demo-server" | awk '/=>/{print $3}' |
    while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null; done |
    cut -d: -f1 | sort -u | tr '\n' ' ')
  echo "demo-server runtime packages: $demo_libs"
  if [[ -z $(comm -23 <(tr ' ' '\n' <<<"$demo_libs" | grep -v '^$' | sort -u) \
                     <(printf '%s\n' libc6 libgcc-s1 libstdc++6 libssl3 | sort)) ]]; then
    record "(c) demo-app image: demo-server needs only libssl3 beyond bookworm-slim" PASS "$demo_libs"
  else
    record "(c) demo-app image: demo-server needs only libssl3 beyond bookworm-slim" FAIL "$demo_libs"
  fi
else
  record "(c) exporter stage RUN commands" SKIP "no .deb from the build stage"
fi

# ------------------------------------------------------------------ (d) .deb
section "(d) the .deb"
if [[ -f $deb ]]; then
  dpkg-deb -f "$deb"
  depends=$(dpkg-deb -f "$deb" Depends)
  unresolvable=""
  IFS=',' read -ra dep_list <<<"$depends"
  for dep in "${dep_list[@]}"; do
    name=$(awk '{print $1}' <<<"$dep")
    candidate=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/{print $2}')
    # A virtual package (libspdlog1.10-fmt9) has no candidate but providers.
    providers=$(apt-cache showpkg "$name" 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed 1d | wc -l)
    [[ ( -z $candidate || $candidate == "(none)" ) && $providers -eq 0 ]] && unresolvable+=" $name"
  done
  if [[ -z $unresolvable ]]; then
    record "(d) every Depends of the .deb has an apt candidate" PASS "${#dep_list[@]} packages"
  else
    record "(d) every Depends of the .deb has an apt candidate" FAIL "$unresolvable"
  fi
  grep -q 'bpftrace' <<<"$depends" && record "(d) Depends names bpftrace" PASS || record "(d) Depends names bpftrace" FAIL
  # Installed by the exporter stage above; install again the usual way if not.
  if ! dpkg-query -W -f='${Status}' bpftrace-otel 2>/dev/null | grep -q "install ok installed"; then
    cp "$deb" "$scratch/bpftrace-otel_test.deb"
    apt-get install -y -qq "$scratch/bpftrace-otel_test.deb"
  fi
  if version=$(bpftrace-otel --version 2>&1); then
    record "(d) apt-get install ./bpftrace-otel.deb; bpftrace-otel --version" PASS "$version"
  else
    record "(d) apt-get install ./bpftrace-otel.deb; bpftrace-otel --version" FAIL "$version"
  fi
  installed_unit=$(dpkg -L bpftrace-otel | grep '/systemd/system/bpftrace-otel.service$' | head -1)
  if [[ -n $installed_unit ]] && out=$(systemd-analyze verify --man=no "$installed_unit" 2>&1) && [[ -z $out ]]; then
    record "(d) systemd-analyze verify of the installed unit ($installed_unit)" PASS
  else
    echo "$out"
    record "(d) systemd-analyze verify of the installed unit" FAIL "${installed_unit:-no unit in the package}"
  fi
  mode=$(stat -c %a /etc/default/bpftrace-otel 2>/dev/null)
  [[ $mode == 600 ]] && record "(d) /etc/default/bpftrace-otel installed, mode 0600, conffile" PASS \
                     || record "(d) /etc/default/bpftrace-otel installed, mode 0600, conffile" FAIL "mode ${mode:-missing}"
  if [[ ${preinstalled:-0} -eq 0 ]]; then
    if apt-get purge -y -qq bpftrace-otel >/dev/null && ! command -v bpftrace-otel >/dev/null &&
       [[ ! -e /etc/default/bpftrace-otel ]]; then
      record "(d) apt-get purge bpftrace-otel" PASS
    else
      record "(d) apt-get purge bpftrace-otel" FAIL
    fi
  else
    record "(d) apt-get purge bpftrace-otel" SKIP "it was installed before this script ran; left installed"
  fi
else
  record "(d) .deb checks" SKIP "no .deb (build stage failed)"
fi

# ------------------------------------------------------------------ --chroot
if [[ $with_chroot -eq 1 && -f $deb ]]; then
  section "(d') the .deb in a fresh Debian 12 minbase chroot"
  command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  root=$scratch/chroot
  if debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$scratch/debootstrap.log" 2>&1; then
    cp "$deb" "$root/tmp/bpftrace-otel.deb"
    # The image's sources (bookworm, -updates, -security), as deb822 files.
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
      cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
      rm -f "$root/etc/apt/sources.list"
    fi
    mount --bind /proc "$root/proc"
    if env -u TMPDIR chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates /tmp/bpftrace-otel.deb >/dev/null && bpftrace-otel --version && bpftrace --version'; then
      record "(d') fresh minbase chroot: apt-get install ./deb, --version" PASS
    else
      record "(d') fresh minbase chroot: apt-get install ./deb, --version" FAIL
    fi
    umount "$root/proc"
  else
    tail -5 "$scratch/debootstrap.log"
    record "(d') debootstrap bookworm minbase" FAIL "see $scratch/debootstrap.log (use --keep)"
  fi
fi

# ------------------------------------------------------------------ summary
section "summary"
printf '%s\n' "${summary[@]}"
cat <<'EOF'

Not checked here (no Docker engine, no Kubernetes): docker build itself, the
images at run time, docker compose up, kubectl apply; see docs/deployment.md.
EOF
exit $failed
