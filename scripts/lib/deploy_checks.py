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
import collections
import dataclasses
import difflib
import pathlib
import re
import shutil
import subprocess
import sys
from urllib.parse import urlparse

import pathspec
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dev_images  # noqa: E402
import settings  # noqa: E402

# The mesh's binaries (design.md); the port each serves is its own default (Code.ports).
BINARIES = settings.BINARIES
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
# The settings a Kafka client must share with whoever declares the topics.
TOPIC_SETTINGS = ("KAFKA_BROKERS", "KAFKA_PARTITIONS", "KAFKA_REPLICATION_FACTOR")
# Host addresses a published port may bind by default: this machine only.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def prefix(binary):
    """menu-service -> MENU, gateway -> GATEWAY: the env var prefix of a binary."""
    return binary.removesuffix("-service").upper()


# MENU_URL -> menu-service: the backend each *_URL variable names.
URL_VARS = {f"{prefix(binary)}_URL": binary for binary in BINARIES if binary != "gateway"}


@dataclasses.dataclass
class Report:
    """Collects failures so one run lists them all."""

    errors: list = dataclasses.field(default_factory=list)
    checked: int = 0

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


@dataclasses.dataclass
class Value:
    value: str | None  # None: not known here (a Secret made outside the repository)
    origin: str
    secret_key: tuple | None = None  # (Secret, key) it comes from


def setting(env, name, otherwise=None):
    """The value a container sets for a variable, if it sets one known here."""
    value = env.get(name)
    return otherwise if value is None or value.value is None else value.value


def effective(binary, name, env, code):
    """A variable's value as the binary sees it: set, else the code's default."""
    return setting(env, name, code.default(binary, name))


def backend_urls(env):
    """(variable, backend, URL) for every URL a *_URL variable sets (one may list several)."""
    for name, value in env.items():
        if name in URL_VARS and value.value is not None:
            for url in value.value.split(","):
                yield name, URL_VARS[name], url


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
        report.check(name in env,
                     f"{where}: needs {name}, but nothing sets it (the code's default "
                     f"{read.default} points at the container itself; see {read.where})")
    # The gateway refuses to start without a key to check bearer tokens with.
    if TOKEN_KEY in known.accepted:
        report.check(TOKEN_KEY in env or "GATEWAY_JWKS_URL" in env,
                     f"{where}: needs {TOKEN_KEY} or GATEWAY_JWKS_URL, but nothing sets either "
                     "(the gateway checks bearer tokens with it and will not start without one)")


def check_topic_settings(report, where, binary, env, code, declarer, declared, nodes):
    """A Kafka client uses the brokers, partitions and replication the topics were declared with
    (else the topics it creates differ from the declared ones), within the brokers' count."""
    for key in TOPIC_SETTINGS:
        theirs, ours = effective(binary, key, env, code), setting(declared, key)
        report.check(str(theirs) == str(ours),
                     f"{where}: uses {key}={theirs} but {declarer} declares the topics with {ours}")
    rf = effective(binary, "KAFKA_REPLICATION_FACTOR", env, code)
    report.check(int(rf) <= nodes, f"{where}: KAFKA_REPLICATION_FACTOR={rf} exceeds Kafka's {nodes} node(s)")


def check_topic_declarer(report, where, what, declarers, code):
    """One `what` (a compose service, a Job) declares the topics (MESH_TOPICS), the ones mesh-kafka
    uses. declarers: [(name, env)]. Returns the one, else (None, {})."""
    if not report.check(len(declarers) == 1,
                        f"{where}: needs one {what} that declares the topics (MESH_TOPICS), has {len(declarers)}"):
        return None, {}
    name, env = declarers[0]
    declared = setting(env, "MESH_TOPICS", "").split()
    report.check(sorted(declared) == sorted(code.topics),
                 f"{where}: {name} declares {' '.join(declared)}; mesh-kafka uses {' '.join(code.topics)}")
    return name, env


def dev_login_on(value):
    """Whether GATEWAY_DEV_LOGIN=value may turn the development sign-in on: anything but unset,
    empty or false (the code's parse_or reads empty as its default, false)."""
    return value is not None and str(value).strip() not in ("", "false")


# === Images and the Dockerfile ===


def check_local_images(root, cluster, report):
    """dev runs the mesh images scripts/cluster-images builds and loads (the dev overlay's
    `images:`) and never pulls them; no other overlay runs them, as no registry serves them."""
    try:
        built = {image for _, image in dev_images.read(root)}
    except ValueError as error:
        return report.fail(str(error))
    for kind, name, doc in cluster.workloads():
        if kind == "Job":
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            image, where = container["image"], f"{cluster.overlay}: {kind} {name}"
            if image.split("@")[0].rsplit("/", 1)[-1].partition(":")[0] not in MESH_IMAGES:
                continue
            if cluster.overlay != "dev":
                report.check(image not in built, f"{where}: image {image} is dev's local build, in no registry")
                continue
            report.check(image in built, f"{where}: image {image} is not one scripts/cluster-images builds")
            report.check(container.get("imagePullPolicy", "IfNotPresent") in ("IfNotPresent", "Never"),
                         f"{where}: imagePullPolicy must be IfNotPresent: the image is loaded, not pulled")


def check_dockerfile(root, report):
    """A numeric non-root USER last (hadolint checks the FROM tags). Returns that uid, which the
    manifests' runAsUser and compose must match."""
    last_stage = re.split(r"(?im)^\s*FROM\s", (root / "Dockerfile").read_text())[-1]
    final_user = (re.findall(r"(?im)^\s*USER\s+(\S+)", last_stage) or [None])[-1]
    if not report.check(final_user is not None, "Dockerfile: the last stage sets no USER (it would run as root)"):
        return None
    user = final_user.split(":")[0]
    numeric = report.check(user.isdigit() and int(user) != 0,
                           f"Dockerfile: USER {final_user} must be a numeric non-root uid (runAsNonRoot checks it)")
    return int(user) if numeric else None


# === Kubernetes: the rendered overlay ===

# A StatefulSet the mesh runs from a public image (postgres, kafka): its name, itself and the
# container that runs the image.
Target = collections.namedtuple("Target", "name doc container")


class Cluster:
    """One rendered overlay, indexed."""

    def __init__(self, overlay, docs, external_secrets):
        self.overlay = overlay
        self.by_kind = {}
        for doc in filter(None, docs):
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        self.external_secrets = external_secrets  # name -> keys (from the dev overlay)
        self.postgres = self.workload_by_image("postgres")
        self.kafka = self.workload_by_image("kafka")

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
        """A Secret's {key: value}: this overlay's, else dev's keys with values not known here,
        else None."""
        secret = self.kind("Secret").get(name)
        if secret is None:
            return dict.fromkeys(self.external_secrets[name]) if name in self.external_secrets else None
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        return data | (secret.get("stringData") or {})

    def container_env(self, where, container, report):
        """Every variable a container gets from the manifests: name -> Value."""
        env = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                cm = self.kind("ConfigMap").get(ref)
                if report.check(cm is not None, f"{where}: envFrom names missing ConfigMap {ref}"):
                    env |= {key: Value(str(v), f"from ConfigMap {ref}") for key, v in (cm.get("data") or {}).items()}
            if "secretRef" in source:
                ref = source["secretRef"]["name"]
                keys = self.secret_keys(ref)
                if keys is None:
                    report.fail(f"{where}: envFrom names Secret {ref}, which neither this overlay nor dev defines")
                    continue
                origin = f"from Secret {ref}" + ("" if ref in self.kind("Secret") else ", made outside the repository")
                env |= {key: Value(v, origin, (ref, key)) for key, v in keys.items()}
        for var in container.get("env", []):
            name, ref = var["name"], var.get("valueFrom", {})
            if "value" in var:
                env[name] = Value(str(var["value"]), "env")
            elif "secretKeyRef" in ref:
                secret, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                keys = self.secret_keys(secret) or {}
                if report.check(key in keys, f"{where}: {name} reads missing secret key {secret}/{key}"):
                    env[name] = Value(keys[key], f"from secret key {secret}/{key}", (secret, key))
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
        for name, doc in self.kind("StatefulSet").items():
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["image"].split("@")[0].rsplit(":", 1)[0].endswith(repository):
                    return Target(name, doc, container)
        return None


def container_port(container, port):
    """A port number, or a named port of the container, as a number."""
    if isinstance(port, int):
        return port
    return next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == port), None)


def service_targets(cluster, workload, port):
    """The container port that `port` of each of the workload's Services leads to (None where its
    pods expose no such port)."""
    containers = workload["spec"]["template"]["spec"]["containers"]
    return [
        next(filter(None, (container_port(c, p.get("targetPort", p["port"])) for c in containers)), None)
        for svc in cluster.services_selecting(workload)
        for p in svc["spec"]["ports"]
        if str(p["port"]) == str(port)
    ]


def resolve_host(cluster, host, port, where, report, workload):
    """Checks that host:port reaches the workload through one of its Services. host is <svc>,
    <svc>.<ns>[.svc[.cluster.local]] or <pod>.<svc>.<ns>... for a StatefulSet."""
    name, ns = workload["metadata"]["name"], cluster.namespace(workload)
    wanted = []
    for svc in cluster.services_selecting(workload):
        svc_name = svc["metadata"]["name"]
        names = {svc_name, f"{svc_name}.{ns}", f"{svc_name}.{ns}.svc", f"{svc_name}.{ns}.svc.cluster.local"}
        if workload["kind"] == "StatefulSet" and svc["spec"].get("clusterIP") == "None":
            names |= {f"{name}-{i}.{n}" for i in range(workload["spec"].get("replicas", 1)) for n in names}
        for p in svc["spec"]["ports"]:
            wanted.append(f"{svc_name}.{ns}.svc.cluster.local:{p['port']}")
            if host in names and p["port"] == port:
                return True
        if host in names:
            ports = ", ".join(str(p["port"]) for p in svc["spec"]["ports"])
            return report.fail(f"{where}: port {port} is not a port of Service {svc_name} ({ports})")
    return report.fail(f"{where}: {host}:{port} names no Service of {name} (expected one of: {', '.join(wanted)})")


def rounded_up(value, count):
    """A count, or a percentage of `count` rounded up (as maxSurge and minAvailable are)."""
    if str(value).endswith("%"):
        return -(-count * int(str(value)[:-1]) // 100)
    return int(value)


def check_cluster(root, cluster, code, image_uid, report):
    o = cluster.overlay
    dev = o == "dev"
    deployments = cluster.kind("Deployment")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in cluster.kind("HorizontalPodAutoscaler").values()}
    pg, kafka = cluster.postgres, cluster.kafka
    report.check(pg is not None, f"{o}: no PostgreSQL StatefulSet")
    report.check(kafka is not None, f"{o}: no Kafka StatefulSet")
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
        report.check(container["image"].rpartition(":")[0].rsplit("/", 1)[-1] == f"mesh-{binary}",
                     f"{where}: image {container['image']} is not the mesh-{binary} image")
        report.check(image_uid is None or spec.get("securityContext", {}).get("runAsUser") == image_uid,
                     f"{where}: runAsUser must be the image's uid {image_uid}")

        # Env: names against the code, then what the values point at.
        env = envs[binary] = cluster.container_env(where, container, report)
        check_env_names(report, where, binary, env, code)
        if binary == "gateway":
            check_gateway_auth(where, env, code, report, dev)
        addr = effective(binary, f"{prefix(binary)}_ADDR", env, code) or ""
        host, _, addr_port = addr.rpartition(":")
        report.check(host in ("0.0.0.0", "[::]"),
                     f"{where}: {prefix(binary)}_ADDR={addr} must bind every interface (0.0.0.0) to be reachable")
        report.check(addr_port == str(port) and container_port(container, port) == port,
                     f"{where}: {prefix(binary)}_ADDR={addr} and the container port must both be {port}")
        for name, backend, url in backend_urls(env):
            parsed = urlparse(url.strip())
            if parsed.hostname is None or parsed.port is None:
                report.fail(f"{where}: {name}={url} needs a host and a port")
            elif backend in deployments:
                resolve_host(cluster, parsed.hostname, parsed.port, f"{where}: {name}={url}", report,
                             deployments[backend])
        brokers = setting(env, "KAFKA_BROKERS")
        if brokers is not None and kafka is not None:
            for broker in brokers.split(","):
                bhost, _, bport = broker.strip().rpartition(":")
                if report.check(bport.isdigit(), f"{where}: KAFKA_BROKERS={brokers} needs host:port"):
                    resolve_host(cluster, bhost, int(bport), f"{where}: KAFKA_BROKERS={brokers}", report, kafka.doc)
                    client_port = kafka_client_port(cluster, report)
                    report.check(all(target == client_port for target in service_targets(cluster, kafka.doc, bport)),
                                 f"{where}: KAFKA_BROKERS={brokers} reaches Kafka on a port that is not its client "
                                 f"listener ({client_port})")
        if setting(env, "PG_URL") is not None and pg is not None:
            check_pg_url(cluster, where, binary, env, code, report)

        # Probes (drain before SIGTERM is checkov's CKV_MESH_2).
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            if binary == "gateway":
                get = container.get(probe, {}).get("httpGet", {})
                report.check(get.get("path") == path and container_port(container, get.get("port")) == port,
                             f"{where}: {probe} must GET {path} on port {port}")
            else:
                report.check(container.get(probe, {}).get("grpc", {}).get("port") == port,
                             f"{where}: {probe} must be a grpc probe on port {port}")

        # Replicas: an autoscaler owns the count, or the Deployment sets 2+.
        least = 1 if dev else 2
        hpa = hpas.get(binary)
        if binary in AUTOSCALED:
            report.check(hpa is not None, f"{where}: needs a HorizontalPodAutoscaler")
        if hpa is not None:
            report.check("replicas" not in workload["spec"],
                         f"{where}: sets replicas although HorizontalPodAutoscaler {binary} owns the count")
            report.check(hpa["spec"].get("minReplicas", 1) >= least,
                         f"{o}: HorizontalPodAutoscaler {binary} needs minReplicas >= {least}")
            for metric in hpa["spec"].get("metrics", []):
                if metric.get("type") == "Resource":
                    res = metric["resource"]["name"]
                    report.check(
                        res in container.get("resources", {}).get("requests", {}),
                        f"{o}: HorizontalPodAutoscaler {binary} scales on {res}, which {binary} requests none of",
                    )
            fewest, most = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        else:
            fewest = most = workload["spec"].get("replicas", 1)
            report.check(fewest >= least, f"{where}: needs {least}+ replicas")
        if "PG_URL" in env:
            # A rolling update runs maxSurge pods more for a while.
            surge = workload["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
            pool = effective(binary, "DB_POOL_SIZE", env, code)
            pools.append((binary, most + rounded_up(surge, most), int(str(pool).replace("_", ""))))

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
        for pdb in budgets:
            # A budget sets one of the two.
            report.check(
                pdb["maxUnavailable"] not in (0, "0%") if "maxUnavailable" in pdb
                else rounded_up(pdb.get("minAvailable", 0), fewest) < fewest,
                f"{where}: its PodDisruptionBudget allows no eviction at all (node drains would hang)",
            )

        # Its Service (headless for a backend: checkov's CKV2_MESH_2).
        service = cluster.kind("Service").get(binary)
        if not report.check(service is not None, f"{o}: Service {binary} is missing"):
            continue
        ports = service["spec"]["ports"]
        if binary == "gateway":
            report.check(
                service["spec"].get("type") == "NodePort"
                and any(p.get("nodePort") == GATEWAY_NODE_PORT and p["port"] == port for p in ports),
                f"{o}: Service gateway must be NodePort {GATEWAY_NODE_PORT} -> {port}",
            )
        else:
            report.check([p["port"] for p in ports] == [port], f"{o}: Service {binary} must serve port {port}")

    # Services: each selects one workload on ports it has. (That only the gateway's is reachable
    # from outside, and no Ingress, are checkov's CKV2_MESH_3 and CKV2_MESH_4.)
    for name, svc in cluster.kind("Service").items():
        selector = svc["spec"].get("selector", {})
        matches = [
            w for _, _, w in cluster.workloads() if selector and selector.items() <= cluster.pod_labels(w).items()
        ]
        if not report.check(len(matches) == 1, f"{o}: Service {name} selects {len(matches)} workloads, not 1"):
            continue
        containers = matches[0]["spec"]["template"]["spec"]["containers"]
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            report.check(any(container_port(c, target) for c in containers),
                         f"{o}: Service {name} targets port {target}, which its pods do not expose")

    check_postgres(cluster, envs, pools, report)
    check_kafka(cluster, envs, code, report)
    check_secrets(cluster, report)
    check_network_policies(cluster, envs, code, report)


def check_gateway_auth(where, env, code, report, dev):
    """No development sign-in in any overlay; outside dev, the token claim checks and the sign-in
    set explicitly, so nothing a base or a default changes later can open them."""
    login = effective("gateway", DEV_LOGIN, env, code)
    report.check(not dev_login_on(login),
                 f"{where}: {DEV_LOGIN}={login} turns the development sign-in on (a token for any role to "
                 f"anyone who reaches the gateway); an overlay never does, opt in with kubectl set env")
    if dev:
        return
    report.check(setting(env, DEV_LOGIN) == "false",
                 f"{where}: must set {DEV_LOGIN}=false explicitly (outside dev nothing inherited may turn it on)")
    for name, otherwise in TOKEN_CLAIM_CHECKS.items():
        text = setting(env, name, "").strip()
        if report.check(bool(text), f"{where}: needs {name}: without it the gateway accepts a token {otherwise}"):
            if name == "GATEWAY_JWT_MAX_LIFETIME_SECS":
                report.check(text.isdigit() and int(text) > 0,
                             f"{where}: {name}={text} must be a positive number of seconds")


def kafka_client_port(cluster, report):
    """The port of the listener Kafka clients use (the inter-broker one, PLAINTEXT here)."""
    env = cluster.container_env(f"{cluster.overlay}: StatefulSet kafka", cluster.kafka.container, Report())
    listeners = setting(env, "KAFKA_LISTENERS", "")
    inter = setting(env, "KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT")
    for listener in listeners.split(","):
        name, _, rest = listener.partition("://")
        if name == inter:
            return int(rest.rpartition(":")[2])
    report.fail(f"{cluster.overlay}: Kafka's KAFKA_LISTENERS={listeners} has no {inter} listener")
    return None


def check_pg_url(cluster, where, binary, env, code, report):
    parsed = urlparse(env["PG_URL"].value)
    if not report.check(
        parsed.scheme in ("postgres", "postgresql") and parsed.hostname and parsed.username and parsed.password,
        f"{where}: PG_URL must be postgres://<role>:<password>@<host>:<port>",
    ):
        return
    resolve_host(cluster, parsed.hostname, parsed.port or 5432, f"{where}: PG_URL", report, cluster.postgres.doc)
    database = effective(binary, f"{prefix(binary)}_DB_NAME", env, code)
    report.check(parsed.username == database,
                 f"{where}: PG_URL's role {parsed.username} must be named like its database {database} "
                 f"(init-roles.sh makes the role own the database of its name)")
    report.check(parsed.username != "postgres", f"{where}: PG_URL uses the superuser; each service has its own role")


def check_postgres(cluster, envs, pools, report):
    """Every service's PG_URL reaches the init script; the pools fit max_connections."""
    o = cluster.overlay
    if cluster.postgres is None:
        return
    _, sts, container = cluster.postgres
    init_refs = {
        (ref["name"], ref["key"]) for var in container.get("env", [])
        if var["name"].startswith("PG_URL_") and (ref := var.get("valueFrom", {}).get("secretKeyRef"))
    }
    for binary, env in envs.items():
        if "PG_URL" in env:
            report.check(env["PG_URL"].secret_key in init_refs,
                         f"{o}: {binary}'s PG_URL ({env['PG_URL'].origin}) is not among postgres's PG_URL_* "
                         f"variables, so init-roles.sh never creates its role")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"].get("volumes", [])}
    init = volumes.get(mounts.get("/docker-entrypoint-initdb.d"), {})
    script = cluster.kind("ConfigMap").get(init.get("configMap", {}).get("name"), {})
    report.check("init-roles.sh" in (script.get("data") or {}),
                 f"{o}: postgres must mount init-roles.sh at /docker-entrypoint-initdb.d")
    m = re.search(r"max_connections=(\d+)", " ".join(container.get("args", []) + container.get("command", [])))
    limit = (int(m.group(1)) if m else PG_MAX_CONNECTIONS) - PG_RESERVED
    total = sum(pods * size for _, pods, size in pools)
    report.check(total <= limit,
                 f"{o}: the services may open {total} database connections "
                 f"({', '.join(f'{b} {p}x{s}' for b, p, s in pools)}), over PostgreSQL's {limit}")


def check_kafka(cluster, envs, code, report):
    """Topics declared by the Job, auto-creation off, replication within the broker count."""
    o = cluster.overlay
    if cluster.kafka is None:
        return
    name, sts, container = cluster.kafka
    env = cluster.container_env(f"{o}: StatefulSet {name}", container, report)
    nodes = sts["spec"].get("replicas", 1)
    report.check(
        setting(env, "KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false",
        f"{o}: Kafka needs KAFKA_AUTO_CREATE_TOPICS_ENABLE=false (topics are declared by the kafka-topics Job)",
    )
    voters = setting(env, "KAFKA_CONTROLLER_QUORUM_VOTERS", "").split(",")
    svc = next((s["metadata"]["name"] for s in cluster.services_selecting(sts) if s["spec"].get("clusterIP") == "None"), None)
    ns = cluster.namespace(sts)
    expected = [f"{i}@{name}-{i}.{svc}.{ns}.svc.cluster.local:9093" for i in range(nodes)]
    report.check(voters == expected,
                 f"{o}: KAFKA_CONTROLLER_QUORUM_VOTERS must list the {nodes} pod(s): {','.join(expected)}")
    for key in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"):
        value = setting(env, key)
        report.check(value is None or int(value) <= nodes, f"{o}: Kafka's {key}={value} exceeds its {nodes} node(s)")

    declarers = [
        (f"Job {job_name}", cluster.container_env(f"{o}: Job {job_name}", c, report))
        for kind, job_name, job in cluster.workloads() if kind == "Job"
        for c in job["spec"]["template"]["spec"]["containers"] if "MESH_TOPICS" in {e["name"] for e in c.get("env", [])}
    ]
    job, job_env = check_topic_declarer(report, o, "Job", declarers, code)
    for binary, benv in envs.items():
        if job is not None and "KAFKA_BROKERS" in code.env[binary].required:
            check_topic_settings(report, f"{o}: Deployment {binary}", binary, benv, code, job, job_env, nodes)


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
                report.check(len(value.encode()) < MIN_TOKEN_KEY_BYTES,
                             f"{o}: Secret {name} key {key} holds a usable key ({len(value.encode())} bytes) in the "
                             f"repository: whoever reads it signs an admin token (read it from a git-ignored file)")
            else:
                report.check(
                    "dev-only" in value,
                    f"{o}: Secret {name} key {key} must say dev-only in its value (an obviously development password)",
                )


# === NetworkPolicy: allowed edges == the edges the settings name ===


def selects(selector, labels):
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    holds = {
        "In": lambda key, values: labels.get(key) in values,
        "NotIn": lambda key, values: labels.get(key) not in values,
        "Exists": lambda key, values: key in labels,
        "DoesNotExist": lambda key, values: key not in labels,
    }
    return all(holds[e["operator"]](e["key"], e.get("values", [])) for e in selector.get("matchExpressions", []))


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
                for port in [p.get("port") for p in rule.get("ports") or [{}]]:  # no ports: every port
                    ports |= all_ports if port is None else {container_port(c, port) for c in containers} - {None}
                peers = rule.get("from")
                sources = set() if peers else set(pods) | {OUTSIDE}  # no peers: anyone
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
    pg, kafka = cluster.postgres, cluster.kafka
    needed = set()  # (source, target, port)

    def via_service(workload, port):
        """The container port that `port` of the workload's Services leads to."""
        return next(iter(service_targets(cluster, workload, port)), None)

    jobs = {
        name: cluster.container_env(f"{o}: Job {name}", c, Report())
        for kind, name, doc in cluster.workloads() if kind == "Job"
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    for source, env in (envs | jobs).items():
        for _, backend, url in backend_urls(env):
            if backend in deployments:
                needed.add((source, backend, via_service(deployments[backend], urlparse(url.strip()).port)))
        if "PG_URL" in env and pg is not None:
            needed.add((source, pg.name, via_service(pg.doc, 5432)))
        if setting(env, "KAFKA_BROKERS") and kafka is not None:
            for broker in env["KAFKA_BROKERS"].value.split(","):
                needed.add((source, kafka.name, via_service(kafka.doc, broker.strip().rpartition(":")[2])))
    if kafka is not None:
        # Kafka nodes replicate from each other and form the controller quorum.
        needed |= {(kafka.name, kafka.name, p["containerPort"]) for p in kafka.container.get("ports", [])}
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
    text = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", str(value))
    if re.search(r"(?<!\$)\$(\{\w+(:?\?[^}]*)?\}|\w+)", text.replace("$$", "")):
        return None  # needs a variable from the user's shell: not known here
    return text.replace("$$", "$")


def compose_raw_env(svc):
    """The environment as written, before interpolation: name -> text."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def compose_env(svc):
    return {k: Value(interpolate(v), "environment") for k, v in compose_raw_env(svc).items()}


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
        report.check(raw is not None and re.fullmatch(rf"\$\{{{TOKEN_KEY}:?\?[^}}]*\}}", raw.strip()) is not None,
                     f"{where}: {TOKEN_KEY}: {raw} must be required from the shell, ${{{TOKEN_KEY}:?set it ...}}, "
                     f"so compose stops without it: a default or a value here signs anyone an admin token")
    login = effective("gateway", DEV_LOGIN, env, code)
    report.check(not dev_login_on(login),
                 f"{where}: {DEV_LOGIN} defaults to {login}: the development sign-in must be off unless asked "
                 f"for (${{{DEV_LOGIN}:-false}})")


def depends(svc):
    """A compose service's depends_on as {service: its condition}."""
    deps = svc.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {dep: spec.get("condition") for dep, spec in deps.items()}


def check_compose(root, compose, code, image_uid, report):
    services = compose.get("services", {})
    for name in [*BINARIES, "postgres", "kafka"]:
        report.check(name in services, f"compose: service {name} is missing")

    for name, svc in services.items():
        image = str(svc.get("image", ""))
        pinned = "@sha256:" in image or image.rsplit("/", 1)[-1].partition(":")[2] not in ("", "latest")
        report.check(pinned, f"compose: {name}: image {image} is not pinned (no tag, or :latest)")
        for dep, condition in depends(svc).items():
            if not report.check(dep in services, f"compose: {name} depends on unknown service {dep}"):
                continue
            if condition == "service_healthy":
                report.check("healthcheck" in services[dep],
                             f"compose: {name} waits for {dep} to be healthy, but {dep} has no healthcheck")
            if condition == "service_completed_successfully":
                report.check(services[dep].get("restart", "no") == "no",
                             f"compose: {name} waits for {dep} to complete, but {dep} restarts")
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

    kenv = compose_env(services.get("kafka", {}))
    report.check(setting(kenv, "KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false",
                 "compose: kafka needs KAFKA_AUTO_CREATE_TOPICS_ENABLE=false (topics are declared ahead of time)")
    listeners = setting(kenv, "KAFKA_ADVERTISED_LISTENERS", "")
    kafka_addrs = {listener.partition("://")[2] for listener in listeners.split(",")}
    nodes = len((setting(kenv, "KAFKA_CONTROLLER_QUORUM_VOTERS") or "x").split(","))
    pg_init = {v.value for k, v in compose_env(services.get("postgres", {})).items() if k.startswith("PG_URL_")}
    declarers = [(n, compose_env(s)) for n, s in services.items() if "MESH_TOPICS" in compose_env(s)]
    topic_service, tenv = check_topic_declarer(report, "compose", "service", declarers, code)

    for binary, port in code.ports.items():
        svc = services.get(binary)
        if svc is None:
            continue
        where = f"compose: {binary}"
        report.check((svc.get("build") or {}).get("args", {}).get("BIN") == binary,
                     f"{where}: must build with BIN={binary}")
        report.check(str(svc.get("image", "")).rpartition(":")[0].endswith(f"/mesh-{binary}"),
                     f"{where}: image {svc.get('image')} is not the mesh-{binary} image")
        report.check(
            svc.get("read_only") is True and "ALL" in svc.get("cap_drop", [])
            and any("no-new-privileges" in str(opt) for opt in svc.get("security_opt", [])),
            f"{where}: needs read_only, cap_drop ALL and no-new-privileges",
        )
        report.check(str(svc.get("user", image_uid or "")).split(":")[0] not in ("0", "root"),
                     f"{where}: must not run as root")
        health = " ".join(map(str, (svc.get("healthcheck") or {}).get("test", [])))
        report.check(str(port) in health, f"{where}: needs a healthcheck on its port {port}")
        env = compose_env(svc)
        check_env_names(report, where, binary, env, code)
        addr = effective(binary, f"{prefix(binary)}_ADDR", env, code) or ""
        report.check(addr == f"0.0.0.0:{port}", f"{where}: {prefix(binary)}_ADDR={addr} must be 0.0.0.0:{port}")
        if binary == "gateway":
            report.check(any(compose_port(p)[1:] == (str(port), str(port)) for p in svc.get("ports", [])),
                         f"{where}: must publish {port}:{port}")
            check_compose_gateway_auth(where, svc, env, code, report)
        for name, backend, url in backend_urls(env):
            parsed = urlparse(url.strip())
            target_env = compose_env(services.get(backend, {}))
            target_port = str(effective(backend, f"{prefix(backend)}_ADDR", target_env, code)).rpartition(":")[2]
            report.check(parsed.hostname == backend and str(parsed.port) == target_port,
                         f"{where}: {name}={url} must be http://{backend}:{target_port}")
        brokers = setting(env, "KAFKA_BROKERS")
        if brokers is not None:
            report.check(
                all(b.strip() in kafka_addrs for b in brokers.split(",")),
                f"{where}: KAFKA_BROKERS={brokers} is not the address kafka advertises ({', '.join(sorted(kafka_addrs))})",
            )
            report.check(
                topic_service is not None and depends(svc).get(topic_service) == "service_completed_successfully",
                f"{where}: uses Kafka, so it must wait for {topic_service} to complete (topics first)",
            )
            check_topic_settings(report, where, binary, env, code, topic_service, tenv, nodes)
        if setting(env, "PG_URL") is not None:
            parsed = urlparse(env["PG_URL"].value)
            database = effective(binary, f"{prefix(binary)}_DB_NAME", env, code)
            report.check(parsed.hostname == "postgres" and (parsed.port or 5432) == 5432,
                         f"{where}: PG_URL must point at postgres:5432")
            report.check(
                parsed.username == database and parsed.username != "postgres",
                f"{where}: PG_URL's role {parsed.username} must be the service's own, named like its database {database}",
            )
            report.check(
                env["PG_URL"].value in pg_init,
                f"{where}: its PG_URL is not among postgres's PG_URL_* variables, so its role is never created",
            )
            report.check(depends(svc).get("postgres") == "service_healthy",
                         f"{where}: uses PostgreSQL, so it must wait for postgres to be healthy")


# === deploy/ files ===


def kustomizations(root):
    """(kustomization.yaml, its contents) for each under deploy/."""
    for kfile in sorted((root / "deploy").rglob("kustomization.yaml")):
        yield kfile, yaml.safe_load(kfile.read_text())


def generator_files(generator):
    """The files a configMapGenerator or secretGenerator reads."""
    return list(generator.get("envs", [])) + [f.rpartition("=")[2] for f in generator.get("files", [])]


def check_kustomizations(root, report):
    """Every file under a kustomization's directory is one it uses: kustomize ignores a file it
    is not told about, so a new manifest left out of `resources` would silently not deploy."""
    for kfile, k in kustomizations(root):
        folder = kfile.parent
        used = set(k.get("resources", [])) | {p["path"] for p in k.get("patches", []) if "path" in p}
        for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
            used |= set(generator_files(generator))
        nested = {d.parent for d in folder.rglob("kustomization.yaml") if d.parent != folder}
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or path == kfile or any(n in path.parents for n in nested):
                continue
            rel = path.relative_to(folder).as_posix()
            if rel.endswith(".example") and rel.removesuffix(".example") in used:
                continue  # the committed shape of a git-ignored file the kustomization reads
            report.check(rel in used, f"deploy: {folder.relative_to(root)}/kustomization.yaml does not use {rel}")


def git_ignored(root, rel):
    """Whether the repository's .gitignore names the path (or a folder above it), by git's rules
    (pathspec, pinned among the validators)."""
    path = root / ".gitignore"
    return pathspec.GitIgnoreSpec.from_lines(path.read_text().splitlines() if path.exists() else []).match_file(rel)


def git_tracked(root, rel):
    """Whether git tracks the path (False outside a git work tree, or without git)."""
    command = ["git", "-C", str(root), "ls-files", "--error-unmatch", "--", rel]
    return shutil.which("git") is not None and subprocess.run(command, capture_output=True, check=False).returncode == 0


def check_secret_sources(root, report):
    """The token key is never written in a kustomization; a Secret generated from a file reads
    one git ignores and never tracks, whose shape a committed <file>.example shows."""
    for kfile, k in kustomizations(root):
        folder = kfile.parent
        where = f"deploy: {folder.relative_to(root).as_posix()}/kustomization.yaml"
        for generator in k.get("secretGenerator", []):
            name = generator.get("name")
            for literal in generator.get("literals", []):
                report.check(not str(literal).startswith(f"{TOKEN_KEY}="),
                             f"{where}: Secret {name} writes {TOKEN_KEY} as a literal: whoever reads the repository "
                             f"signs an admin token (read it from a git-ignored env file)")
            for file in generator_files(generator):
                rel = (folder / file).relative_to(root).as_posix()
                reads = f"{where}: Secret {name} reads {file}"
                report.check(git_ignored(root, rel), f"{reads}, which .gitignore does not name (it would be committed)")
                report.check(not git_tracked(root, rel), f"{reads}, which git tracks: its values are in the repository")
                report.check((folder / f"{file}.example").is_file(),
                             f"{reads}, with no {file}.example beside it to show its shape")


# === Entry ===


def external_secrets_from(docs):
    """The Secrets an overlay defines, name -> keys: the shape other overlays' Secrets follow."""
    return {
        doc["metadata"]["name"]: sorted({**(doc.get("data") or {}), **(doc.get("stringData") or {})})
        for doc in docs if doc.get("kind") == "Secret"
    }


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
    rendered = {
        overlay: [doc for doc in yaml.safe_load_all(pathlib.Path(path).read_text()) if doc]
        for overlay, _, path in (arg.partition("=") for arg in sys.argv[2:])
    }
    report = run(root, rendered)
    for error in report.errors:
        print(f"  FAIL {error}")
    print(f"  {report.checked - len(report.errors)} of {report.checked} cross-file checks hold")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
