"""What neither schemas nor generic policies see in docker-compose.yml, the rendered kustomize
overlays and the Dockerfile: that they agree with each other and with the code.

Run by scripts/validate-deploy after the schema validators and checkov:
    deploy_checks.py <repo root> <overlay>=<rendered.yaml>...     e.g. dev=/tmp/dev.yaml

Per-container and per-pod hygiene in the overlays (tags not :latest, requests and limits,
non-root, no privilege escalation, capabilities, read-only root, a NetworkPolicy for every pod)
is checkov's, the Dockerfile's base image tags hadolint's. So is what any Deployment or Service
here must be, by our custom checkov policies in deploy/policies: a PodDisruptionBudget, spread
over nodes and a preStop drain the grace period leaves time after, for every Deployment; backend
Services headless; only the gateway's Service reachable from outside; no Ingress. What is left
is this mesh's own: the files' wiring to each other and to the code.

The env checks read the binaries' own lists (settings.py, from `BINARY --print-settings`): every
variable set on a mesh container (env, and every key of the ConfigMaps and Secrets it pulls with
envFrom) must be one its binary reads; every variable the binary cannot do without in a cluster
must be set; and the values that name other parts of the mesh (KAFKA_BROKERS, the backend URLs,
PG_URL, the bind address) must name the Service, the port and the role that really serve them.
The rest covers what this mesh promises: the image uid, probes on the right port, replicas and
autoscalers, one disruption budget per Deployment that lets a node drain evict at its fewest
replicas, Services on the code's ports and the gateway's NodePort, NetworkPolicies that allow
exactly the connections the settings name, one PostgreSQL role per service, the topics declared
ahead of time with auto-creation off, no password outside the dev overlay, dev's mesh images
being the local ones scripts/cluster-images builds and loads (and no other overlay's), and
compose's pinned images and locked-down containers (no policy tool here reads compose).

Nobody gets a token by default (issue 18): no key to sign one with is written in the repository
(compose requires GATEWAY_JWT_SECRET from the shell; the dev overlay reads it from a git-ignored
file), no overlay or compose default turns the development sign-in on, compose publishes ports
on loopback unless told otherwise, and every overlay but dev checks the tokens' issuer, audience
and lifetime.

An overlay named "dev" may run one replica and must carry the (dev-only) Secrets; every other
overlay renders no Secret and references the ones dev defines, by the same names and keys.
"""

import base64
import dataclasses
import difflib
import fnmatch
import pathlib
import re
import shutil
import subprocess
import sys
from urllib.parse import urlparse

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dev_images  # noqa: E402
import settings  # noqa: E402

# The mesh's binaries (design.md); the port each serves is its own default (Code.ports).
BINARIES = settings.BINARIES
SERVICES = [name for name in BINARIES if name != "gateway"]
# The repositories' last part: mesh-gateway, ghcr.io/mesh-org/mesh-gateway, ...
MESH_IMAGES = {f"mesh-{name}" for name in BINARIES}
GATEWAY_NODE_PORT = 31000
# Deployments the mesh autoscales (issue 10).
AUTOSCALED = {"gateway", "order-service"}
# PostgreSQL's defaults: max_connections and superuser_reserved_connections.
PG_MAX_CONNECTIONS = 100
PG_RESERVED = 3
# The key the gateway checks HS256 tokens with, and the shortest it accepts
# (gateway/src/config.rs's MIN_SECRET_BYTES): a shorter value is no usable key.
TOKEN_KEY = "GATEWAY_JWT_SECRET"
MIN_TOKEN_KEY_BYTES = 32
# POST /auth/dev-token: a token for any role, to anyone who reaches the gateway.
DEV_LOGIN = "GATEWAY_DEV_LOGIN"
# The token claims every overlay but dev has the gateway check, and what a token may otherwise
# claim. (dev leaves them out: scripts/token signs no iss or aud.)
TOKEN_CLAIM_CHECKS = {
    "GATEWAY_JWT_ISSUER": "whoever issued it",
    "GATEWAY_JWT_AUDIENCE": "whoever it was issued for",
    "GATEWAY_JWT_MAX_LIFETIME_SECS": "however long it lives",
}
# Host addresses a published port may bind by default: this machine only.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def prefix(binary):
    """menu-service -> MENU, gateway -> GATEWAY: the env var prefix of a binary."""
    return binary.removesuffix("-service").upper()


def url_var_binary(name):
    """MENU_URL -> menu-service: the backend a *_URL variable names, else None."""
    for binary in SERVICES:
        if name == f"{prefix(binary)}_URL":
            return binary
    return None


class Report:
    """Collects failures so one run lists them all."""

    def __init__(self):
        self.errors = []
        self.checked = 0

    def check(self, ok, message):
        self.checked += 1
        if not ok:
            self.errors.append(message)
        return ok

    def fail(self, message):
        return self.check(False, message)


# === What the code says ===


@dataclasses.dataclass
class Code:
    env: dict  # binary -> settings.BinaryEnv
    topics: list  # every topic the mesh uses, each followed by its dead-letter topic

    @property
    def ports(self):
        """{binary: the port it serves by default}, in BINARIES' order."""
        return {binary: self.env[binary].port for binary in BINARIES}

    def default(self, binary, name):
        read = self.env[binary].accepted.get(name)
        return None if read is None else read.default


def mesh_topics(root):
    """mesh-kafka/src/lib.rs's ALL_TOPICS, each with its dead-letter topic (dlq_of)."""
    text = (root / "mesh-kafka/src/lib.rs").read_text()
    consts = dict(re.findall(r'pub const (\w+): &str = "([^"]+)";', text))
    listed = re.search(r"pub const ALL_TOPICS: \[&str; \d+\] = \[([^\]]*)\]", text)
    dlq = re.search(r'pub fn dlq_of\(topic: &str\) -> String \{\s*format!\("\{topic\}([^"]*)"\)', text)
    if not listed or not dlq:
        raise SystemExit("deploy_checks: cannot find ALL_TOPICS or dlq_of in mesh-kafka/src/lib.rs")
    topics = []
    for ident in re.findall(r"\w+", listed.group(1)):
        topics += [consts[ident], consts[ident] + dlq.group(1)]
    return topics


def read_code(root):
    return Code(settings.scan(root), mesh_topics(root))


def check_env_names(report, where, binary, env, code):
    """Every name set is read by the binary; every name it needs is set."""
    known = code.env[binary]
    for name, value in sorted(env.items()):
        if name in known.accepted:
            continue
        close = difflib.get_close_matches(name, known.accepted, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        report.fail(f"{where}: sets {name} ({value.origin}), which {binary} never reads{hint}")
    for name, read in sorted(known.required.items()):
        report.check(
            name in env,
            f"{where}: needs {name}, but nothing sets it (the code's default "
            f"{read.default} points at the container itself; see {read.where})",
        )
    # The gateway refuses to start without a key to check bearer tokens with.
    if "GATEWAY_JWT_SECRET" in known.accepted:
        report.check(
            "GATEWAY_JWT_SECRET" in env or "GATEWAY_JWKS_URL" in env,
            f"{where}: needs GATEWAY_JWT_SECRET or GATEWAY_JWKS_URL, but nothing sets either "
            "(the gateway checks bearer tokens with it and will not start without one)",
        )


def effective(binary, name, env, code):
    """A variable's value as the binary sees it: set, else the code's default."""
    value = env.get(name)
    if value is not None and value.value is not None:
        return value.value
    return code.default(binary, name)


# === Images and the Dockerfile ===


def image_problem(image):
    """Why a compose image reference is not pinned, or None."""
    name = image.rsplit("/", 1)[-1]
    if "@sha256:" in image or name.partition(":")[2] not in ("", "latest"):
        return None
    return f"image {image} is not pinned (no tag, or :latest)"


def check_local_images(root, cluster, report):
    """dev runs the mesh images scripts/cluster-images builds and loads (the dev overlay's
    `images:`) and never pulls them; no other overlay runs them, as no registry serves them."""
    try:
        built = {image for _, image in dev_images.read(root)}
    except ValueError as error:
        return report.fail(str(error))
    for kind in ("Deployment", "StatefulSet"):
        for name, doc in cluster.kind(kind).items():
            spec = doc["spec"]["template"]["spec"]
            for container in spec.get("initContainers", []) + spec["containers"]:
                image, where = container["image"], f"{cluster.overlay}: {kind} {name}"
                if image.split("@")[0].rsplit("/", 1)[-1].partition(":")[0] not in MESH_IMAGES:
                    continue
                if cluster.overlay != "dev":
                    report.check(image not in built, f"{where}: image {image} is dev's local build, in no registry")
                    continue
                report.check(image in built, f"{where}: image {image} is not one scripts/cluster-images builds")
                report.check(
                    container.get("imagePullPolicy", "IfNotPresent") in ("IfNotPresent", "Never"),
                    f"{where}: imagePullPolicy must be IfNotPresent: the image is loaded, not pulled",
                )


def check_dockerfile(root, report):
    """A numeric non-root USER last (hadolint checks the FROM tags). Returns that uid, which the
    manifests' runAsUser and compose must match."""
    uid, final_user = None, None
    for line in (root / "Dockerfile").read_text().splitlines():
        if re.match(r"(?i)^FROM\s", line.strip()):
            final_user = None
        elif m := re.match(r"(?i)^USER\s+(\S+)", line.strip()):
            final_user = m.group(1)
    if report.check(final_user is not None, "Dockerfile: the last stage sets no USER (it would run as root)"):
        user = final_user.split(":")[0]
        if report.check(
            user.isdigit() and int(user) != 0,
            f"Dockerfile: USER {final_user} must be a numeric non-root uid (runAsNonRoot checks it)",
        ):
            uid = int(user)
    return uid


# === Kubernetes: the rendered overlay ===


@dataclasses.dataclass
class Value:
    value: str | None  # None: not known here (a Secret made outside the repository)
    origin: str


class Cluster:
    """One rendered overlay, indexed."""

    def __init__(self, overlay, docs, external_secrets):
        self.overlay = overlay
        self.docs = [d for d in docs if d]
        self.by_kind = {}
        for doc in self.docs:
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        self.external_secrets = external_secrets  # name -> keys (from the dev overlay)

    def kind(self, kind):
        return self.by_kind.get(kind, {})

    def workloads(self):
        for kind in ("Deployment", "StatefulSet", "Job"):
            for name, doc in self.kind(kind).items():
                yield kind, name, doc

    def namespace(self, doc):
        return doc["metadata"].get("namespace", "default")

    def pod_labels(self, workload):
        return workload["spec"]["template"]["metadata"].get("labels", {})

    def secret_keys(self, name):
        secret = self.kind("Secret").get(name)
        if secret is None:
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        data.update(secret.get("stringData") or {})
        return data

    def container_env(self, where, container, report):
        """Every variable a container gets from the manifests: name -> Value."""
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                cm = self.kind("ConfigMap").get(ref)
                if report.check(cm is not None, f"{where}: envFrom names missing ConfigMap {ref}"):
                    for key, value in (cm.get("data") or {}).items():
                        env[key] = Value(str(value), f"from ConfigMap {ref}")
            if "secretRef" in source:
                ref = source["secretRef"]["name"]
                keys = self.secret_keys(ref)
                if keys is not None:
                    for key, value in keys.items():
                        env[key] = Value(value, f"from Secret {ref}")
                elif ref in self.external_secrets:
                    for key in self.external_secrets[ref]:
                        env[key] = Value(None, f"from Secret {ref}, made outside the repository")
                else:
                    report.fail(f"{where}: envFrom names Secret {ref}, which neither this overlay nor dev defines")
        for var in container.get("env", []):
            name = var["name"]
            if "value" in var:
                env[name] = Value(str(var["value"]), "env")
                continue
            ref = var.get("valueFrom", {})
            if "secretKeyRef" in ref:
                secret, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                keys = self.secret_keys(secret)
                if keys is None:
                    keys = dict.fromkeys(self.external_secrets.get(secret, []))
                if report.check(key in keys, f"{where}: {name} reads missing secret key {secret}/{key}"):
                    env[name] = Value(keys[key], f"from secret key {secret}/{key}")
            elif "configMapKeyRef" in ref:
                cm, key = ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
                data = (self.kind("ConfigMap").get(cm) or {}).get("data") or {}
                if report.check(key in data, f"{where}: {name} reads missing ConfigMap key {cm}/{key}"):
                    env[name] = Value(str(data[key]), f"from ConfigMap key {cm}/{key}")
            else:
                env[name] = Value(None, "env (from the pod)")
        return env

    def services_selecting(self, workload):
        labels = self.pod_labels(workload)
        return [
            svc
            for svc in self.kind("Service").values()
            if svc["spec"].get("selector") and svc["spec"]["selector"].items() <= labels.items()
            and self.namespace(svc) == self.namespace(workload)
        ]

    def workload_by_image(self, repository):
        """The StatefulSet whose container runs the image repository (postgres, apache/kafka)."""
        for kind, name, doc in self.workloads():
            if kind != "StatefulSet":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["image"].split("@")[0].rsplit(":", 1)[0].endswith(repository):
                    return name, doc, container
        return None, None, None


def container_port(container, port):
    """A port number, or a named port of the container, as a number."""
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    return None


def resolve_host(cluster, host, port, where, report, target):
    """Checks that host:port reaches `target` (a workload) through one of its Services.
    host is <svc>, <svc>.<ns>[.svc[.cluster.local]] or <pod>.<svc>.<ns>... for a StatefulSet."""
    kind, name, workload, container = target
    services = cluster.services_selecting(workload)
    ns = cluster.namespace(workload)
    wanted = []
    for svc in services:
        svc_name = svc["metadata"]["name"]
        names = {svc_name, f"{svc_name}.{ns}", f"{svc_name}.{ns}.svc", f"{svc_name}.{ns}.svc.cluster.local"}
        if kind == "StatefulSet" and svc["spec"].get("clusterIP") == "None":
            for i in range(workload["spec"].get("replicas", 1)):
                names |= {f"{name}-{i}.{n}" for n in list(names)}
        for p in svc["spec"]["ports"]:
            wanted.append(f"{svc_name}.{ns}.svc.cluster.local:{p['port']}")
            if host in names and p["port"] == port:
                return True
        if host in names:
            ports = ", ".join(str(p["port"]) for p in svc["spec"]["ports"])
            return report.fail(f"{where}: port {port} is not a port of Service {svc_name} ({ports})")
    return report.fail(f"{where}: {host}:{port} names no Service of {name} (expected one of: {', '.join(wanted)})")


def check_cluster(root, cluster, code, image_uid, report):
    o = cluster.overlay
    dev = o == "dev"
    deployments = cluster.kind("Deployment")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in cluster.kind("HorizontalPodAutoscaler").values()}
    pg_name, pg_sts, pg_container = cluster.workload_by_image("postgres")
    kafka_name, kafka_sts, kafka_container = cluster.workload_by_image("kafka")
    report.check(pg_sts is not None, f"{o}: no PostgreSQL StatefulSet")
    report.check(kafka_sts is not None, f"{o}: no Kafka StatefulSet")
    envs = {}  # binary -> env
    pools = []  # (binary, max pods, pool size)

    # The mesh's own Deployments. (What any Deployment needs is checkov's, by deploy/policies.)
    for binary, port in code.ports.items():
        workload = deployments.get(binary)
        if not report.check(workload is not None, f"{o}: Deployment {binary} is missing"):
            continue
        where = f"{o}: Deployment {binary}"
        spec = workload["spec"]["template"]["spec"]
        containers = [c for c in spec["containers"] if c["name"] == binary]
        if not report.check(len(containers) == 1, f"{where}: needs one container named {binary}"):
            continue
        container = containers[0]
        repo, _, tag = container["image"].rpartition(":")
        report.check(
            repo.rsplit("/", 1)[-1] == f"mesh-{binary}",
            f"{where}: image {container['image']} is not the mesh-{binary} image",
        )
        report.check(
            image_uid is None or spec.get("securityContext", {}).get("runAsUser") == image_uid,
            f"{where}: runAsUser must be the image's uid {image_uid}",
        )

        # Env: names against the code, then what the values point at.
        env = cluster.container_env(where, container, report)
        envs[binary] = env
        check_env_names(report, where, binary, env, code)
        if binary == "gateway":
            check_gateway_auth(where, env, code, report, dev)
        addr = effective(binary, f"{prefix(binary)}_ADDR", env, code) or ""
        host, _, addr_port = addr.rpartition(":")
        report.check(
            host in ("0.0.0.0", "[::]"),
            f"{where}: {prefix(binary)}_ADDR={addr} must bind every interface (0.0.0.0) to be reachable",
        )
        report.check(
            addr_port == str(port) and container_port(container, port) == port,
            f"{where}: {prefix(binary)}_ADDR={addr} and the container port must both be {port}",
        )
        for name, value in env.items():
            backend = url_var_binary(name)
            if backend is None or value.value is None:
                continue
            for url in value.value.split(","):
                parsed = urlparse(url.strip())
                target = deployments.get(backend)
                if parsed.hostname is None or parsed.port is None:
                    report.fail(f"{where}: {name}={url} needs a host and a port")
                elif target is not None:
                    resolve_host(
                        cluster, parsed.hostname, parsed.port, f"{where}: {name}={url}", report,
                        ("Deployment", backend, target, None),
                    )
        brokers = effective(binary, "KAFKA_BROKERS", env, code)
        if "KAFKA_BROKERS" in env and env["KAFKA_BROKERS"].value is not None and kafka_sts is not None:
            for broker in brokers.split(","):
                bhost, _, bport = broker.strip().rpartition(":")
                if report.check(bport.isdigit(), f"{where}: KAFKA_BROKERS={brokers} needs host:port"):
                    resolve_host(
                        cluster, bhost, int(bport), f"{where}: KAFKA_BROKERS={brokers}", report,
                        ("StatefulSet", kafka_name, kafka_sts, kafka_container),
                    )
                    client_port = kafka_client_port(cluster, kafka_sts, kafka_container, report)
                    service_ports = [
                        p for svc in cluster.services_selecting(kafka_sts) for p in svc["spec"]["ports"]
                        if p["port"] == int(bport)
                    ]
                    report.check(
                        all(container_port(kafka_container, p.get("targetPort", p["port"])) == client_port
                            for p in service_ports),
                        f"{where}: KAFKA_BROKERS={brokers} reaches Kafka on a port that is not its client "
                        f"listener ({client_port})",
                    )
        pg_url = env.get("PG_URL")
        if pg_url is not None and pg_url.value is not None and pg_sts is not None:
            check_pg_url(cluster, where, binary, pg_url.value, env, code, report, (pg_name, pg_sts, pg_container))

        # Probes (drain before SIGTERM is checkov's CKV_MESH_2).
        probes = {p: container.get(p, {}) for p in ("readinessProbe", "livenessProbe")}
        if binary == "gateway":
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = probes[probe].get("httpGet", {})
                report.check(
                    get.get("path") == path and container_port(container, get.get("port")) == port,
                    f"{where}: {probe} must GET {path} on port {port}",
                )
        else:
            for probe, spec_probe in probes.items():
                report.check(
                    spec_probe.get("grpc", {}).get("port") == port,
                    f"{where}: {probe} must be a grpc probe on port {port}",
                )

        # Replicas: an autoscaler owns the count, or the Deployment sets 2+.
        least = 1 if dev else 2
        hpa = hpas.get(binary)
        if binary in AUTOSCALED:
            report.check(hpa is not None, f"{where}: needs a HorizontalPodAutoscaler")
        if hpa is not None:
            report.check(
                "replicas" not in workload["spec"],
                f"{where}: sets replicas although HorizontalPodAutoscaler {binary} owns the count",
            )
            report.check(
                hpa["spec"].get("minReplicas", 1) >= least,
                f"{o}: HorizontalPodAutoscaler {binary} needs minReplicas >= {least}",
            )
            for metric in hpa["spec"].get("metrics", []):
                if metric.get("type") == "Resource":
                    res = metric["resource"]["name"]
                    report.check(
                        res in container.get("resources", {}).get("requests", {}),
                        f"{o}: HorizontalPodAutoscaler {binary} scales on {res}, which {binary} requests none of",
                    )
            most = hpa["spec"]["maxReplicas"]
        else:
            report.check(
                workload["spec"].get("replicas", 1) >= least,
                f"{where}: needs {least}+ replicas",
            )
            most = workload["spec"].get("replicas", 1)
        if "PG_URL" in env:
            # A rolling update runs maxSurge pods more for a while.
            surge = workload["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
            surge = -(-most * int(surge[:-1]) // 100) if str(surge).endswith("%") else int(surge)
            pool = effective(binary, "DB_POOL_SIZE", env, code)
            pools.append((binary, most + surge, int(str(pool).replace("_", ""))))

        # Its disruption budget (checkov's CKV2_MESH_1 sees that there is one): no second one, as
        # the eviction API refuses a pod two select, and one that a drain can evict a pod under.
        labels = cluster.pod_labels(workload)
        budgets = [
            pdb["spec"] for pdb in cluster.kind("PodDisruptionBudget").values()
            if pdb["spec"]["selector"].get("matchLabels", {}).items() <= labels.items()
        ]
        report.check(
            len(budgets) <= 1,
            f"{where}: {len(budgets)} PodDisruptionBudgets select its pods; the eviction API refuses such a pod",
        )
        least_pods = hpa["spec"].get("minReplicas", 1) if hpa else workload["spec"].get("replicas", 1)
        for pdb in budgets:
            # A budget sets one of the two; a percentage of minAvailable rounds up.
            min_available = pdb.get("minAvailable", 0)
            if str(min_available).endswith("%"):
                min_available = -(-least_pods * int(min_available[:-1]) // 100)
            report.check(
                pdb["maxUnavailable"] not in (0, "0%") if "maxUnavailable" in pdb else min_available < least_pods,
                f"{where}: its PodDisruptionBudget allows no eviction at all (node drains would hang)",
            )

        # Its Service (headless for a backend: checkov's CKV2_MESH_2).
        service = cluster.kind("Service").get(binary)
        if not report.check(service is not None, f"{o}: Service {binary} is missing"):
            continue
        sspec = service["spec"]
        if binary == "gateway":
            report.check(
                sspec.get("type") == "NodePort"
                and any(p.get("nodePort") == GATEWAY_NODE_PORT and p["port"] == port for p in sspec["ports"]),
                f"{o}: Service gateway must be NodePort {GATEWAY_NODE_PORT} -> {port}",
            )
        else:
            report.check(
                [p["port"] for p in sspec["ports"]] == [port],
                f"{o}: Service {binary} must serve port {port}",
            )

    # Services: each selects one workload on ports it has. (That only the gateway's is reachable
    # from outside, and no Ingress, are checkov's CKV2_MESH_3 and CKV2_MESH_4.)
    for name, svc in cluster.kind("Service").items():
        selector = svc["spec"].get("selector", {})
        matches = [
            (kind, w) for kind, _, w in cluster.workloads()
            if selector and selector.items() <= cluster.pod_labels(w).items()
        ]
        if not report.check(len(matches) == 1, f"{o}: Service {name} selects {len(matches)} workloads, not 1"):
            continue
        containers = matches[0][1]["spec"]["template"]["spec"]["containers"]
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            report.check(
                any(container_port(c, target) for c in containers),
                f"{o}: Service {name} targets port {target}, which its pods do not expose",
            )

    check_postgres(cluster, envs, pools, report, (pg_name, pg_sts, pg_container))
    check_kafka(cluster, envs, code, report, (kafka_name, kafka_sts, kafka_container))
    check_secrets(cluster, report)
    check_network_policies(cluster, envs, code, report)


def dev_login_on(value):
    """Whether GATEWAY_DEV_LOGIN=value may turn the development sign-in on: anything but unset,
    empty or false (the code's parse_or reads empty as its default, false)."""
    return value is not None and str(value).strip() not in ("", "false")


def check_gateway_auth(where, env, code, report, dev):
    """No development sign-in in any overlay; outside dev, the token claim checks and the sign-in
    set explicitly, so nothing a base or a default changes later can open them."""
    login = effective("gateway", DEV_LOGIN, env, code)
    report.check(
        not dev_login_on(login),
        f"{where}: {DEV_LOGIN}={login} turns the development sign-in on (a token for any role to "
        f"anyone who reaches the gateway); an overlay never does, opt in with kubectl set env",
    )
    if dev:
        return
    value = env.get(DEV_LOGIN)
    report.check(
        value is not None and value.value == "false",
        f"{where}: must set {DEV_LOGIN}=false explicitly (outside dev nothing inherited may turn it on)",
    )
    for name, otherwise in TOKEN_CLAIM_CHECKS.items():
        value = env.get(name)
        text = "" if value is None or value.value is None else value.value.strip()
        if not report.check(
            bool(text),
            f"{where}: needs {name}: without it the gateway accepts a token {otherwise}",
        ):
            continue
        if name == "GATEWAY_JWT_MAX_LIFETIME_SECS":
            report.check(
                text.isdigit() and int(text) > 0,
                f"{where}: {name}={text} must be a positive number of seconds",
            )


def kafka_client_port(cluster, sts, container, report):
    """The port of the listener Kafka clients use (the inter-broker one, PLAINTEXT here)."""
    env = cluster.container_env(f"{cluster.overlay}: StatefulSet kafka", container, Report())
    listeners = (env.get("KAFKA_LISTENERS") or Value("", "")).value or ""
    inter = (env.get("KAFKA_INTER_BROKER_LISTENER_NAME") or Value("PLAINTEXT", "")).value
    for listener in listeners.split(","):
        name, _, rest = listener.partition("://")
        if name == inter:
            return int(rest.rpartition(":")[2])
    report.fail(f"{cluster.overlay}: Kafka's KAFKA_LISTENERS={listeners} has no {inter} listener")
    return None


def check_pg_url(cluster, where, binary, url, env, code, report, postgres):
    parsed = urlparse(url)
    if not report.check(
        parsed.scheme in ("postgres", "postgresql") and parsed.hostname and parsed.username and parsed.password,
        f"{where}: PG_URL must be postgres://<role>:<password>@<host>:<port>",
    ):
        return
    name, sts, container = postgres
    resolve_host(cluster, parsed.hostname, parsed.port or 5432, f"{where}: PG_URL", report,
                 ("StatefulSet", name, sts, container))
    database = effective(binary, f"{prefix(binary)}_DB_NAME", env, code)
    report.check(
        parsed.username == database,
        f"{where}: PG_URL's role {parsed.username} must be named like its database {database} "
        f"(init-roles.sh makes the role own the database of its name)",
    )
    report.check(
        parsed.username != "postgres",
        f"{where}: PG_URL uses the superuser; each service has its own role",
    )


def check_postgres(cluster, envs, pools, report, postgres):
    """Every service's PG_URL reaches the init script; the pools fit max_connections."""
    o = cluster.overlay
    name, sts, container = postgres
    if sts is None:
        return
    pg_env = {v["name"]: v for v in container.get("env", [])}
    init_refs = {
        (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
        for k, v in pg_env.items()
        if k.startswith("PG_URL_") and "secretKeyRef" in v.get("valueFrom", {})
    }
    for binary, env in envs.items():
        if "PG_URL" not in env:
            continue
        origin = env["PG_URL"].origin
        m = re.match(r"from Secret ([^ ,]+)", origin) or re.match(r"from secret key ([^/]+)/(\S+)", origin)
        ref = None if m is None else (m.group(1), m.group(2) if m.lastindex == 2 else "PG_URL")
        report.check(
            ref in init_refs,
            f"{o}: {binary}'s PG_URL ({env['PG_URL'].origin}) is not among postgres's PG_URL_* "
            f"variables, so init-roles.sh never creates its role",
        )
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"].get("volumes", [])}
    init = volumes.get(mounts.get("/docker-entrypoint-initdb.d"), {})
    script = cluster.kind("ConfigMap").get(init.get("configMap", {}).get("name"), {})
    report.check(
        "init-roles.sh" in (script.get("data") or {}),
        f"{o}: postgres must mount init-roles.sh at /docker-entrypoint-initdb.d",
    )
    args = " ".join(container.get("args", []) + container.get("command", []))
    m = re.search(r"max_connections=(\d+)", args)
    limit = (int(m.group(1)) if m else PG_MAX_CONNECTIONS) - PG_RESERVED
    total = sum(pods * size for _, pods, size in pools)
    report.check(
        total <= limit,
        f"{o}: the services may open {total} database connections "
        f"({', '.join(f'{b} {p}x{s}' for b, p, s in pools)}), over PostgreSQL's {limit}",
    )


def check_kafka(cluster, envs, code, report, kafka):
    """Topics declared by the Job, auto-creation off, replication within the broker count."""
    o = cluster.overlay
    name, sts, container = kafka
    if sts is None:
        return
    env = cluster.container_env(f"{o}: StatefulSet {name}", container, report)
    nodes = sts["spec"].get("replicas", 1)

    def setting(key):
        value = env.get(key)
        return None if value is None else value.value

    report.check(
        setting("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false",
        f"{o}: Kafka needs KAFKA_AUTO_CREATE_TOPICS_ENABLE=false (topics are declared by the kafka-topics Job)",
    )
    voters = (setting("KAFKA_CONTROLLER_QUORUM_VOTERS") or "").split(",")
    svc = next((s["metadata"]["name"] for s in cluster.services_selecting(sts) if s["spec"].get("clusterIP") == "None"), None)
    ns = cluster.namespace(sts)
    expected = [f"{i}@{name}-{i}.{svc}.{ns}.svc.cluster.local:9093" for i in range(nodes)]
    report.check(
        voters == expected,
        f"{o}: KAFKA_CONTROLLER_QUORUM_VOTERS must list the {nodes} pod(s): {','.join(expected)}",
    )
    for key in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"):
        value = setting(key)
        report.check(
            value is None or int(value) <= nodes,
            f"{o}: Kafka's {key}={value} exceeds its {nodes} node(s)",
        )

    jobs = [
        (job_name, job, c) for kind, job_name, job in cluster.workloads() if kind == "Job"
        for c in job["spec"]["template"]["spec"]["containers"] if "MESH_TOPICS" in {e["name"] for e in c.get("env", [])}
    ]
    if not report.check(len(jobs) == 1, f"{o}: needs one Job that declares the topics (MESH_TOPICS), has {len(jobs)}"):
        return
    job_name, job, job_container = jobs[0]
    job_env = cluster.container_env(f"{o}: Job {job_name}", job_container, report)
    declared = (job_env["MESH_TOPICS"].value or "").split()
    report.check(
        sorted(declared) == sorted(code.topics),
        f"{o}: Job {job_name} declares {' '.join(declared)}; mesh-kafka uses {' '.join(code.topics)}",
    )
    for binary, benv in envs.items():
        if "KAFKA_BROKERS" not in code.env[binary].required:
            continue
        for key in ("KAFKA_BROKERS", "KAFKA_PARTITIONS", "KAFKA_REPLICATION_FACTOR"):
            theirs = effective(binary, key, benv, code)
            ours = (job_env.get(key) or Value(None, "")).value
            report.check(
                str(theirs) == str(ours),
                f"{o}: Job {job_name} has {key}={ours} but {binary} uses {theirs}: the topics it declares "
                f"would differ from the ones {binary} creates",
            )
        rf = effective(binary, "KAFKA_REPLICATION_FACTOR", benv, code)
        report.check(int(rf) <= nodes, f"{o}: {binary}'s KAFKA_REPLICATION_FACTOR={rf} exceeds Kafka's {nodes} node(s)")


def check_secrets(cluster, report):
    """No password in a rendered manifest, except dev's, which say so; no usable token key at all
    (dev's comes from a git-ignored file, rendered here from its empty .example)."""
    o = cluster.overlay
    for name in cluster.kind("Secret"):
        if o != "dev":
            report.fail(f"{o}: renders Secret {name}; outside dev, Secrets are made in the cluster, not kept here")
            continue
        for key, value in cluster.secret_keys(name).items():
            if key == TOKEN_KEY:
                report.check(
                    len(value.encode()) < MIN_TOKEN_KEY_BYTES,
                    f"{o}: Secret {name} key {key} holds a usable key ({len(value.encode())} bytes) in the "
                    f"repository: whoever reads it signs an admin token (read it from a git-ignored file)",
                )
                continue
            report.check(
                "dev-only" in value,
                f"{o}: Secret {name} key {key} must say dev-only in its value (an obviously development password)",
            )


# === NetworkPolicy: allowed edges == the edges the settings name ===


def selects(selector, labels):
    if selector is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


OUTSIDE = "(outside the namespace)"


def allowed_edges(cluster):
    """{(source, target workload, port number)} the NetworkPolicies allow, plus the targets no
    policy isolates. Sources are workload names, or OUTSIDE for any other peer."""
    pods = {name: (cluster.pod_labels(doc), doc) for _, name, doc in cluster.workloads()}
    edges, isolated = set(), set()
    for policy in cluster.kind("NetworkPolicy").values():
        spec = policy["spec"]
        if "Ingress" not in spec.get("policyTypes", ["Ingress"]):
            continue
        for target, (labels, doc) in pods.items():
            if not selects(spec.get("podSelector", {}), labels):
                continue
            isolated.add(target)
            containers = doc["spec"]["template"]["spec"]["containers"]
            all_ports = {p["containerPort"] for c in containers for p in c.get("ports", [])}
            for rule in spec.get("ingress", []):
                ports = set()
                for p in rule.get("ports") or [{"port": None}]:  # no ports: every port
                    if p.get("port") is None:
                        ports |= all_ports
                    else:
                        ports |= {container_port(c, p["port"]) for c in containers} - {None}
                peers = rule.get("from")
                sources = set()
                if not peers:
                    sources = set(pods) | {OUTSIDE}
                for peer in peers or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        sources |= {n for n, (lbl, _) in pods.items() if selects(peer["podSelector"], lbl)}
                    else:
                        sources.add(OUTSIDE)
                edges |= {(s, target, port) for s in sources for port in ports}
    return edges, set(pods) - isolated


def check_network_policies(cluster, envs, code, report):
    o = cluster.overlay
    deployments = cluster.kind("Deployment")
    pg_name, pg_sts, pg_container = cluster.workload_by_image("postgres")
    kafka_name, kafka_sts, kafka_container = cluster.workload_by_image("kafka")
    needed = set()  # (source, target, port)

    def service_port(target_doc, host_port):
        """The container port a host:port reaches (through its Service)."""
        host, _, port = host_port.rpartition(":")
        for svc in cluster.services_selecting(target_doc):
            for p in svc["spec"]["ports"]:
                if str(p["port"]) == port:
                    containers = target_doc["spec"]["template"]["spec"]["containers"]
                    return next(
                        (container_port(c, p.get("targetPort", p["port"])) for c in containers
                         if container_port(c, p.get("targetPort", p["port"]))),
                        None,
                    )
        return None

    for binary, env in envs.items():
        for name, value in env.items():
            backend = url_var_binary(name)
            if backend and value.value and backend in deployments:
                for url in value.value.split(","):
                    parsed = urlparse(url.strip())
                    port = service_port(deployments[backend], f"{parsed.hostname}:{parsed.port}")
                    needed.add((binary, backend, port))
        if "PG_URL" in env and pg_sts is not None:
            needed.add((binary, pg_name, service_port(pg_sts, "postgres:5432")))
        if "KAFKA_BROKERS" in env and kafka_sts is not None and env["KAFKA_BROKERS"].value:
            for broker in env["KAFKA_BROKERS"].value.split(","):
                needed.add((binary, kafka_name, service_port(kafka_sts, broker.strip())))
    for kind, name, doc in cluster.workloads():
        if kind == "Job" and kafka_sts is not None:
            for c in doc["spec"]["template"]["spec"]["containers"]:
                env = cluster.container_env(f"{o}: Job {name}", c, Report())
                if "KAFKA_BROKERS" in env and env["KAFKA_BROKERS"].value:
                    needed.add((name, kafka_name, service_port(kafka_sts, env["KAFKA_BROKERS"].value)))
    if kafka_sts is not None:
        # Kafka nodes replicate from each other and form the controller quorum.
        for p in kafka_container.get("ports", []):
            needed.add((kafka_name, kafka_name, p["containerPort"]))
    needed.add((OUTSIDE, "gateway", code.ports["gateway"]))
    needed = {edge for edge in needed if edge[2] is not None}

    # A pod no policy selects is open to anything: checkov's CKV2_K8S_6 refuses it.
    allowed, open_pods = allowed_edges(cluster)
    for source, target, port in sorted(needed - allowed):
        if target not in open_pods:
            report.fail(f"{o}: NetworkPolicy: {source} cannot reach {target} on port {port}, which its settings use")
    for source, target, port in sorted(allowed - needed):
        if (OUTSIDE, target, port) not in needed:  # open to anyone on purpose (the gateway's port)
            report.fail(
                f"{o}: NetworkPolicy: {target} may be reached from {source} on port {port}, "
                f"which no setting asks for"
            )


# === docker-compose.yml ===


def interpolate(value):
    """Compose's ${VAR:-default} with VAR unset: the default; $$ is a literal $. None when the
    value needs a variable from the user's shell (${VAR}, or ${VAR:?message}, which compose
    refuses to start without)."""
    if value is None:
        return None
    text = str(value)
    text = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", text)
    if re.search(r"(?<!\$)\$(\{\w+(:?\?[^}]*)?\}|\w+)", text.replace("$$", "")):
        return None  # needs a variable from the user's shell: not known here
    return text.replace("$$", "$")


def compose_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: Value(interpolate(v), "environment") for k, v in env.items()}


def compose_raw_env(svc):
    """The environment as written, before interpolation: name -> text."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def compose_port(entry):
    """A `ports:` entry with compose's defaults applied: (host address, published, target).
    The address is "" when the entry names none (every interface) and None when it comes from a
    variable without a default."""
    if isinstance(entry, dict):
        host = interpolate(entry.get("host_ip", ""))
        published = interpolate(entry.get("published", ""))
        return host, None if published is None else str(published), str(entry.get("target"))
    text = interpolate(entry)
    if text is None:
        return None, None, None
    text = text.split("/", 1)[0]  # 3000/tcp
    host = ""
    if text.startswith("["):  # [::1]:3000:3000
        host, _, text = text[1:].partition("]:")
    parts = text.split(":")
    if len(parts) == 3:
        host, parts = parts[0], parts[1:]
    published, target = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    return host, published, target


def check_compose_gateway_auth(where, svc, env, code, report):
    """The token key comes from the shell, required (compose stops without it), never a default
    written here; the development sign-in is off unless asked for."""
    raw = compose_raw_env(svc).get(TOKEN_KEY)
    if raw is not None or TOKEN_KEY in env:
        report.check(
            raw is not None and re.fullmatch(rf"\$\{{{TOKEN_KEY}:?\?[^}}]*\}}", raw.strip()) is not None,
            f"{where}: {TOKEN_KEY}: {raw} must be required from the shell, ${{{TOKEN_KEY}:?set it ...}}, "
            f"so compose stops without it: a default or a value here signs anyone an admin token",
        )
    login = effective("gateway", DEV_LOGIN, env, code)
    report.check(
        not dev_login_on(login),
        f"{where}: {DEV_LOGIN} defaults to {login}: the development sign-in must be off unless asked "
        f"for (${{{DEV_LOGIN}:-false}})",
    )


def check_compose(root, compose, code, image_uid, report):
    services = compose.get("services", {})
    for name in [*BINARIES, "postgres", "kafka"]:
        report.check(name in services, f"compose: service {name} is missing")

    def depends(svc):
        deps = svc.get("depends_on", {})
        if isinstance(deps, list):
            deps = {dep: {"condition": "service_started"} for dep in deps}
        return deps

    for name, svc in services.items():
        problem = image_problem(str(svc.get("image", "")))
        report.check(problem is None, f"compose: {name}: {problem}")
        for dep, spec in depends(svc).items():
            if not report.check(dep in services, f"compose: {name} depends on unknown service {dep}"):
                continue
            condition = spec.get("condition")
            if condition == "service_healthy":
                report.check(
                    "healthcheck" in services[dep],
                    f"compose: {name} waits for {dep} to be healthy, but {dep} has no healthcheck",
                )
            if condition == "service_completed_successfully":
                report.check(
                    services[dep].get("restart", "no") == "no",
                    f"compose: {name} waits for {dep} to complete, but {dep} restarts",
                )
        published = svc.get("ports", [])
        if name != "gateway":
            report.check(not published, f"compose: {name} publishes ports; only the gateway may")
        for entry in published:
            host = compose_port(entry)[0]
            report.check(
                host is not None and (host in LOOPBACK_HOSTS or host.startswith("127.")),
                f"compose: {name} publishes {entry} on every interface by default: anyone who reaches "
                f"the machine reaches it; bind loopback unless asked, \"${{MESH_BIND_ADDR:-127.0.0.1}}:<port>:<port>\"",
            )

    kafka = services.get("kafka", {})
    kenv = compose_env(kafka)
    report.check(
        (kenv.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") or Value(None, "")).value == "false",
        "compose: kafka needs KAFKA_AUTO_CREATE_TOPICS_ENABLE=false (topics are declared ahead of time)",
    )
    listeners = (kenv.get("KAFKA_ADVERTISED_LISTENERS") or Value("", "")).value or ""
    kafka_addrs = {listener.partition("://")[2] for listener in listeners.split(",")}
    nodes = len(((kenv.get("KAFKA_CONTROLLER_QUORUM_VOTERS") or Value("", "")).value or "x").split(","))
    pg_init = {v.value for k, v in compose_env(services.get("postgres", {})).items() if k.startswith("PG_URL_")}
    topic_services = [n for n, s in services.items() if "MESH_TOPICS" in compose_env(s)]
    if report.check(len(topic_services) == 1, f"compose: needs one service that declares the topics, has {len(topic_services)}"):
        topic_service = topic_services[0]
        tenv = compose_env(services[topic_service])
        declared = (tenv["MESH_TOPICS"].value or "").split()
        report.check(
            sorted(declared) == sorted(code.topics),
            f"compose: {topic_service} declares {' '.join(declared)}; mesh-kafka uses {' '.join(code.topics)}",
        )
    else:
        topic_service, tenv = None, {}

    for binary, port in code.ports.items():
        svc = services.get(binary)
        if svc is None:
            continue
        where = f"compose: {binary}"
        report.check(
            (svc.get("build") or {}).get("args", {}).get("BIN") == binary,
            f"{where}: must build with BIN={binary}",
        )
        report.check(
            str(svc.get("image", "")).rpartition(":")[0].endswith(f"/mesh-{binary}"),
            f"{where}: image {svc.get('image')} is not the mesh-{binary} image",
        )
        report.check(
            svc.get("read_only") is True and "ALL" in svc.get("cap_drop", [])
            and any("no-new-privileges" in str(opt) for opt in svc.get("security_opt", [])),
            f"{where}: needs read_only, cap_drop ALL and no-new-privileges",
        )
        report.check(
            str(svc.get("user", image_uid or "")).split(":")[0] not in ("0", "root"),
            f"{where}: must not run as root",
        )
        health = " ".join(map(str, (svc.get("healthcheck") or {}).get("test", [])))
        report.check(
            str(port) in health,
            f"{where}: needs a healthcheck on its port {port}",
        )
        env = compose_env(svc)
        check_env_names(report, where, binary, env, code)
        addr = effective(binary, f"{prefix(binary)}_ADDR", env, code) or ""
        report.check(
            addr == f"0.0.0.0:{port}",
            f"{where}: {prefix(binary)}_ADDR={addr} must be 0.0.0.0:{port}",
        )
        if binary == "gateway":
            report.check(
                any(compose_port(p)[1:] == (str(port), str(port)) for p in svc.get("ports", [])),
                f"{where}: must publish {port}:{port}",
            )
            check_compose_gateway_auth(where, svc, env, code, report)
        for name, value in env.items():
            backend = url_var_binary(name)
            if backend is None or value.value is None:
                continue
            for url in value.value.split(","):
                parsed = urlparse(url.strip())
                target_addr = effective(backend, f"{prefix(backend)}_ADDR", compose_env(services.get(backend, {})), code)
                report.check(
                    parsed.hostname == backend and str(parsed.port) == str(target_addr).rpartition(":")[2],
                    f"{where}: {name}={url} must be http://{backend}:{str(target_addr).rpartition(':')[2]}",
                )
        if "KAFKA_BROKERS" in env and env["KAFKA_BROKERS"].value is not None:
            brokers = env["KAFKA_BROKERS"].value
            report.check(
                all(b.strip() in kafka_addrs for b in brokers.split(",")),
                f"{where}: KAFKA_BROKERS={brokers} is not the address kafka advertises ({', '.join(sorted(kafka_addrs))})",
            )
            report.check(
                topic_service is not None
                and depends(svc).get(topic_service, {}).get("condition") == "service_completed_successfully",
                f"{where}: uses Kafka, so it must wait for {topic_service} to complete (topics first)",
            )
            for key in ("KAFKA_BROKERS", "KAFKA_PARTITIONS", "KAFKA_REPLICATION_FACTOR"):
                theirs = effective(binary, key, env, code)
                ours = (tenv.get(key) or Value(None, "")).value
                report.check(
                    str(theirs) == str(ours),
                    f"{where}: uses {key}={theirs} but {topic_service} declares topics with {ours}",
                )
            rf = effective(binary, "KAFKA_REPLICATION_FACTOR", env, code)
            report.check(int(rf) <= nodes, f"{where}: KAFKA_REPLICATION_FACTOR={rf} exceeds kafka's {nodes} node(s)")
        pg_url = env.get("PG_URL")
        if pg_url is not None and pg_url.value is not None:
            parsed = urlparse(pg_url.value)
            database = effective(binary, f"{prefix(binary)}_DB_NAME", env, code)
            report.check(
                parsed.hostname == "postgres" and (parsed.port or 5432) == 5432,
                f"{where}: PG_URL must point at postgres:5432",
            )
            report.check(
                parsed.username == database and parsed.username != "postgres",
                f"{where}: PG_URL's role {parsed.username} must be the service's own, named like its database {database}",
            )
            report.check(
                pg_url.value in pg_init,
                f"{where}: its PG_URL is not among postgres's PG_URL_* variables, so its role is never created",
            )
            report.check(
                depends(svc).get("postgres", {}).get("condition") == "service_healthy",
                f"{where}: uses PostgreSQL, so it must wait for postgres to be healthy",
            )


# === deploy/ files ===


def check_kustomizations(root, report):
    """Every file under a kustomization's directory is one it uses: kustomize ignores a file it
    is not told about, so a new manifest left out of `resources` would silently not deploy."""
    for kfile in sorted((root / "deploy").rglob("kustomization.yaml")):
        folder = kfile.parent
        k = yaml.safe_load(kfile.read_text())
        used = set(k.get("resources", [])) | {p["path"] for p in k.get("patches", []) if "path" in p}
        for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
            used |= set(generator.get("envs", [])) | {f.rpartition("=")[2] for f in generator.get("files", [])}
        nested = {d.parent for d in folder.rglob("kustomization.yaml") if d.parent != folder}
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or path == kfile or any(n in path.parents for n in nested):
                continue
            rel = path.relative_to(folder).as_posix()
            if rel.endswith(".example") and rel.removesuffix(".example") in used:
                continue  # the committed shape of a git-ignored file the kustomization reads
            report.check(rel in used, f"deploy: {folder.relative_to(root)}/kustomization.yaml does not use {rel}")


def git_ignored(root, rel):
    """Whether the repository's .gitignore names the path (or a folder above it). Enough of
    gitignore's rules for the patterns we write: anchored (with a /) or by name, * and **."""
    path = root / ".gitignore"
    patterns = [
        line.strip() for line in (path.read_text().splitlines() if path.exists() else [])
        if line.strip() and not line.lstrip().startswith(("#", "!"))
    ]
    parts = rel.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        bare = pattern.rstrip("/")
        for candidate in candidates:
            if "/" in bare:
                if fnmatch.fnmatchcase(candidate, bare.lstrip("/").replace("**/", "*")):
                    return True
            elif fnmatch.fnmatchcase(candidate.rsplit("/", 1)[-1], bare):
                return True
    return False


def git_tracked(root, rel):
    """Whether git tracks the path (False outside a git work tree, or without git)."""
    if shutil.which("git") is None:
        return False
    result = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--error-unmatch", "--", rel],
        capture_output=True, text=True, check=False,
    )
    return result.returncode == 0


def check_secret_sources(root, report):
    """The token key is never written in a kustomization; a Secret generated from a file reads
    one git ignores and never tracks, whose shape a committed <file>.example shows."""
    for kfile in sorted((root / "deploy").rglob("kustomization.yaml")):
        folder = kfile.parent
        where = f"deploy: {folder.relative_to(root).as_posix()}/kustomization.yaml"
        k = yaml.safe_load(kfile.read_text())
        for generator in k.get("secretGenerator", []):
            name = generator.get("name")
            for literal in generator.get("literals", []):
                report.check(
                    not str(literal).startswith(f"{TOKEN_KEY}="),
                    f"{where}: Secret {name} writes {TOKEN_KEY} as a literal: whoever reads the repository "
                    f"signs an admin token (read it from a git-ignored env file)",
                )
            files = list(generator.get("envs", [])) + [f.rpartition("=")[2] for f in generator.get("files", [])]
            for file in files:
                rel = (folder / file).relative_to(root).as_posix()
                report.check(
                    git_ignored(root, rel),
                    f"{where}: Secret {name} reads {file}, which .gitignore does not name (it would be committed)",
                )
                report.check(
                    not git_tracked(root, rel),
                    f"{where}: Secret {name} reads {file}, which git tracks: its values are in the repository",
                )
                report.check(
                    (folder / f"{file}.example").is_file(),
                    f"{where}: Secret {name} reads {file}, with no {file}.example beside it to show its shape",
                )


# === Entry ===


def load_yaml_docs(path):
    return [doc for doc in yaml.safe_load_all(pathlib.Path(path).read_text()) if doc]


def external_secrets_from(docs):
    """The Secrets an overlay defines, name -> keys: the shape other overlays' Secrets follow."""
    secrets = {}
    for doc in docs:
        if doc.get("kind") == "Secret":
            secrets[doc["metadata"]["name"]] = sorted({**(doc.get("data") or {}), **(doc.get("stringData") or {})})
    return secrets


def run(root, rendered, code=None, compose=None):
    """All checks. rendered: {overlay: [docs]}. Returns the Report."""
    root = pathlib.Path(root)
    code = code or read_code(root)
    report = Report()
    check_kustomizations(root, report)
    check_secret_sources(root, report)
    uid = check_dockerfile(root, report)
    if compose is None:
        compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    check_compose(root, compose, code, uid, report)
    report.check("dev" in rendered, "deploy: the dev overlay (the Secrets' reference) was not rendered")
    external = external_secrets_from(rendered.get("dev", []))
    for overlay, docs in rendered.items():
        cluster = Cluster(overlay, docs, external)
        check_cluster(root, cluster, code, uid, report)
        check_local_images(root, cluster, report)
    return report


def main():
    root = pathlib.Path(sys.argv[1])
    rendered = {}
    for arg in sys.argv[2:]:
        overlay, _, path = arg.partition("=")
        rendered[overlay] = load_yaml_docs(path)
    report = run(root, rendered)
    for error in report.errors:
        print(f"  FAIL {error}")
    print(f"  {report.checked - len(report.errors)} of {report.checked} cross-file checks hold")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
