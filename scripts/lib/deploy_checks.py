"""Cross-file checks of docker-compose.yml and deploy/ that schemas cannot express.

Run by scripts/validate-deploy after the schema validators: the schemas say each document is
well-formed; this says the documents agree with each other and with the mesh's contract
(ports, names, probes, images, replicas). Usage: deploy_checks.py <repo root>
"""

import pathlib
import sys
from urllib.parse import urlparse

import yaml

BINARIES = {
    "menu-service": 50051,
    "order-service": 50052,
    "delivery-service": 50053,
    "inventory-service": 50054,
    "billing-service": 50055,
    "gateway": 3000,
}
SERVICES = [name for name in BINARIES if name != "gateway"]
NAMESPACE = "mesh"
IMAGE_UID = 10001  # the Dockerfile's USER


def prefix(binary):
    """menu-service -> MENU, gateway -> GATEWAY: the env var prefix of a binary."""
    return binary.removesuffix("-service").upper()


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


# === docker-compose.yml ===


def check_compose(root, report):
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    for name in [*BINARIES, "postgres", "kafka"]:
        report.check(name in services, f"compose: service {name} is missing")

    for name, svc in services.items():
        depends = svc.get("depends_on", {})
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, spec in depends.items():
            if not report.check(dep in services, f"compose: {name} depends on unknown service {dep}"):
                continue
            if spec.get("condition") == "service_healthy":
                report.check(
                    "healthcheck" in services[dep],
                    f"compose: {name} waits for {dep} to be healthy, but {dep} has no healthcheck",
                )
        published = svc.get("ports", [])
        if name == "gateway":
            report.check(
                any(str(p).split(":")[-2:] == ["3000", "3000"] for p in published),
                "compose: the gateway must publish 3000:3000",
            )
        else:
            report.check(not published, f"compose: {name} publishes ports; only the gateway should")

    for binary, port in BINARIES.items():
        svc = services.get(binary)
        if svc is None:
            continue
        build = svc.get("build", {})
        report.check(
            build.get("args", {}).get("BIN") == binary,
            f"compose: {binary} must build with BIN={binary}",
        )
        report.check(
            svc.get("image") == f"mesh/{binary}:latest",
            f"compose: {binary} image must be mesh/{binary}:latest",
        )
        env = svc.get("environment", {})
        report.check(
            env.get(f"{prefix(binary)}_ADDR") == f"0.0.0.0:{port}",
            f"compose: {binary} needs {prefix(binary)}_ADDR=0.0.0.0:{port}",
        )
        for key, value in env.items():
            if key.endswith("_URL") and key != "PG_URL":
                url = urlparse(str(value))
                target = url.hostname
                report.check(
                    target in BINARIES and url.port == BINARIES[target],
                    f"compose: {binary} {key}={value} names no service port",
                )
        if binary != "gateway":
            report.check(
                str(env.get("PG_URL", "")).endswith("@postgres:5432"),
                f"compose: {binary} needs PG_URL pointing at postgres:5432",
            )
        report.check(env.get("KAFKA_BROKERS") == "kafka:9092", f"compose: {binary} needs KAFKA_BROKERS=kafka:9092")
    gateway_env = services.get("gateway", {}).get("environment", {})
    for binary in SERVICES:
        report.check(
            f"{prefix(binary)}_URL" in gateway_env,
            f"compose: the gateway needs {prefix(binary)}_URL",
        )


# === deploy/ ===


def load_manifests(deploy, report):
    """Every document of every file the kustomization lists, checked against the directory."""
    kustomization = yaml.safe_load((deploy / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    present = sorted(p.name for p in deploy.glob("*.yaml") if p.name != "kustomization.yaml")
    for name in listed:
        report.check((deploy / name).is_file(), f"deploy: kustomization lists missing file {name}")
    for name in present:
        report.check(name in listed, f"deploy: {name} is not listed in kustomization.yaml")
    docs = []
    for name in listed:
        path = deploy / name
        if path.is_file():
            docs += [(name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def pod_spec(doc):
    return doc.get("spec", {}).get("template", {}).get("spec", {})


def check_cluster(root, report):
    docs = load_manifests(root / "deploy", report)
    by_kind = {}
    for file, doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        if doc["kind"] != "Namespace":
            report.check(
                doc["metadata"].get("namespace") == NAMESPACE,
                f"deploy: {file}: {doc['kind']} {doc['metadata']['name']} is not in namespace {NAMESPACE}",
            )
    report.check(NAMESPACE in by_kind.get("Namespace", {}), "deploy: the mesh namespace is missing")
    workloads = {**by_kind.get("Deployment", {}), **by_kind.get("StatefulSet", {})}
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})

    # Services select exactly one workload and name ports its container has.
    for name, svc in by_kind.get("Service", {}).items():
        selector = svc["spec"].get("selector", {})
        matches = [
            w
            for w in workloads.values()
            if selector and selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        if not report.check(len(matches) == 1, f"deploy: Service {name} selects {len(matches)} workloads, not 1"):
            continue
        container_ports = {
            (p.get("name"), p["containerPort"]) for c in pod_spec(matches[0])["containers"] for p in c.get("ports", [])
        }
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            report.check(
                any(target in pair for pair in container_ports),
                f"deploy: Service {name} targets port {target}, which its pods do not expose",
            )

    # Everything a pod reads from a ConfigMap or Secret exists.
    for name, workload in workloads.items():
        for container in pod_spec(workload)["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    ref = source["configMapRef"]["name"]
                    report.check(ref in configmaps, f"deploy: {name} reads missing ConfigMap {ref}")
                if "secretRef" in source:
                    ref = source["secretRef"]["name"]
                    report.check(ref in secrets, f"deploy: {name} reads missing Secret {ref}")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    keys = secrets.get(ref["name"], {}).get("stringData", {})
                    report.check(ref["key"] in keys, f"deploy: {name} reads missing secret key {ref['name']}/{ref['key']}")

    # The mesh's own workloads follow the contract.
    for binary, port in BINARIES.items():
        workload = by_kind.get("Deployment", {}).get(binary)
        if not report.check(workload is not None, f"deploy: Deployment {binary} is missing"):
            continue
        spec = pod_spec(workload)
        report.check(workload["spec"].get("replicas", 1) >= 2, f"deploy: {binary} needs 2+ replicas")
        security = spec.get("securityContext", {})
        report.check(
            security.get("runAsNonRoot") is True and security.get("runAsUser") == IMAGE_UID,
            f"deploy: {binary} must run as non-root uid {IMAGE_UID}",
        )
        (container,) = spec["containers"]
        report.check(container["image"] == f"mesh/{binary}:latest", f"deploy: {binary} image must be mesh/{binary}:latest")
        report.check(container.get("imagePullPolicy") == "IfNotPresent", f"deploy: {binary} needs imagePullPolicy IfNotPresent")
        resources = container.get("resources", {})
        report.check(
            {"cpu", "memory"} <= resources.get("requests", {}).keys() and {"cpu", "memory"} <= resources.get("limits", {}).keys(),
            f"deploy: {binary} needs cpu and memory requests and limits",
        )
        report.check(
            any(p["containerPort"] == port for p in container.get("ports", [])),
            f"deploy: {binary} must expose container port {port}",
        )
        for probe in ("readinessProbe", "livenessProbe"):
            spec_probe = container.get(probe, {})
            if binary == "gateway":
                path = "/readyz" if probe == "readinessProbe" else "/healthz"
                report.check(
                    spec_probe.get("httpGet", {}).get("path") == path,
                    f"deploy: the gateway's {probe} must GET {path}",
                )
            else:
                report.check(
                    spec_probe.get("grpc", {}).get("port") == port,
                    f"deploy: {binary}'s {probe} must be a grpc probe on port {port}",
                )
        service = by_kind.get("Service", {}).get(binary)
        if report.check(service is not None, f"deploy: Service {binary} is missing"):
            kind = service["spec"].get("type", "ClusterIP")
            if binary == "gateway":
                ports = service["spec"]["ports"]
                report.check(
                    kind == "NodePort" and any(p.get("nodePort") == 31000 and p["port"] == port for p in ports),
                    "deploy: the gateway Service must be NodePort 31000 -> 3000",
                )
            else:
                report.check(kind == "ClusterIP", f"deploy: Service {binary} must be ClusterIP")
                report.check(
                    [p["port"] for p in service["spec"]["ports"]] == [port],
                    f"deploy: Service {binary} must serve port {port}",
                )

    # The shared settings name real Services and the ports the pods listen on.
    config = configmaps.get("mesh-config", {}).get("data", {})
    for binary, port in BINARIES.items():
        report.check(
            config.get(f"{prefix(binary)}_ADDR") == f"0.0.0.0:{port}",
            f"deploy: mesh-config needs {prefix(binary)}_ADDR=0.0.0.0:{port}",
        )
    for binary in SERVICES:
        url = urlparse(config.get(f"{prefix(binary)}_URL", ""))
        report.check(
            url.hostname == binary and url.port == BINARIES[binary],
            f"deploy: mesh-config {prefix(binary)}_URL must be http://{binary}:{BINARIES[binary]}",
        )
    brokers = config.get("KAFKA_BROKERS", "")
    report.check(
        brokers.split(":")[0] in by_kind.get("Service", {}),
        f"deploy: KAFKA_BROKERS={brokers} names no Service",
    )


def main():
    root = pathlib.Path(sys.argv[1])
    report = Report()
    check_compose(root, report)
    check_cluster(root, report)
    for error in report.errors:
        print(f"  FAIL {error}")
    print(f"  {report.checked - len(report.errors)} of {report.checked} cross-file checks hold")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
