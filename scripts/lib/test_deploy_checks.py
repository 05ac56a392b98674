"""deploy_checks.py catches the mistakes people make: each test breaks a copy of the real
rendered overlays, compose file, Dockerfile or Rust sources one way and expects a clear failure;
the real files pass. The generic mistakes deploy_checks.py leaves to checkov (its own policies
and ours in deploy/policies) and hadolint (PolicyTest) are made the same way and must fail the
check that replaced ours.

Run by scripts/validate-deploy (MESH_RENDERED_DIR holds dev.yaml and prod.yaml, MESH_CHECKOV_SKIP
the checkov checks it skips), with the validators' venv python, which finds checkov and hadolint:
    python -m unittest discover -s scripts/lib -p 'test_*.py'
Without MESH_RENDERED_DIR the overlays are rendered with $MESH_KUBECTL (or kubectl on PATH),
from a copy of deploy/ whose git-ignored files come from their .example, as validate-deploy does.
MESH_SHOW_CAUGHT=1 prints the message each test expected and got.
"""

import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

import deploy_checks
import settings

ROOT = pathlib.Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
# Our checkov policies (CKV_MESH_*, CKV2_MESH_*), which validate-deploy runs beside checkov's.
POLICIES = ROOT / "deploy" / "policies"


def render():
    """{overlay: [docs]}, from MESH_RENDERED_DIR or by running kubectl kustomize."""
    rendered_dir = os.environ.get("MESH_RENDERED_DIR")
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = pathlib.Path(tmp) / "deploy"
        if not rendered_dir:
            shutil.copytree(ROOT / "deploy", tree)
            for example in tree.rglob("*.example"):
                shutil.copy(example, example.with_suffix(""))
        for overlay in OVERLAYS:
            if rendered_dir:
                text = (pathlib.Path(rendered_dir) / f"{overlay}.yaml").read_text()
            else:
                kubectl = os.environ.get("MESH_KUBECTL") or shutil.which("kubectl")
                if kubectl is None:
                    raise RuntimeError("set MESH_RENDERED_DIR or MESH_KUBECTL (scripts/validate-deploy does)")
                text = subprocess.run(
                    [kubectl, "kustomize", str(tree / "overlays" / overlay)],
                    check=True, capture_output=True, text=True,
                ).stdout
            result[overlay] = [doc for doc in yaml.safe_load_all(text) if doc]
    return result


class Fixture:
    rendered = None
    code = None
    compose = None


def setUpModule():
    Fixture.rendered = render()
    Fixture.code = deploy_checks.read_code(ROOT)
    Fixture.compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def find(docs, kind, name):
    """The document of that kind whose name is `name` or `name-<kustomize hash>`."""
    for doc in docs:
        doc_name = doc["metadata"]["name"]
        if doc["kind"] == kind and (doc_name == name or doc_name.rsplit("-", 1)[0] == name):
            return doc
    raise KeyError(f"{kind} {name}")


def container(docs, name):
    return find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


class DeployChecksTest(unittest.TestCase):
    def errors(self, mutate=None, compose=None, root=ROOT):
        """The checker's failures after `mutate(rendered)` and `compose(compose_dict)`."""
        rendered = copy.deepcopy(Fixture.rendered)
        compose_doc = copy.deepcopy(Fixture.compose)
        if mutate:
            mutate(rendered)
        if compose:
            compose(compose_doc)
        return deploy_checks.run(root, rendered, code=Fixture.code, compose=compose_doc).errors

    def assertCaught(self, errors, *fragments):
        """Some failure contains every fragment."""
        for error in errors:
            if all(fragment in error for fragment in fragments):
                if os.environ.get("MESH_SHOW_CAUGHT"):
                    print(f"\n  {self._testMethodName}: {error}", end="")
                return
        self.fail(f"no failure mentions {fragments}; failures were:\n  " + "\n  ".join(errors))

    def assertNotCaught(self, errors, *fragments):
        """No failure contains every fragment (the variant is accepted)."""
        caught = [error for error in errors if all(fragment in error for fragment in fragments)]
        self.assertEqual(caught, [])

    # === the real files ===

    def test_the_real_files_pass(self):
        self.assertEqual(self.errors(), [])

    # === env against the code ===

    def test_a_deleted_envfrom_leaves_a_required_variable_unset(self):
        def drop_secret(rendered):
            c = container(rendered["prod"], "order-service")
            c["envFrom"] = [s for s in c["envFrom"] if "secretRef" not in s]

        self.assertCaught(self.errors(drop_secret), "prod: Deployment order-service", "needs PG_URL")

        def drop_kafka(rendered):
            c = container(rendered["dev"], "gateway")
            c["envFrom"] = [s for s in c["envFrom"] if not s.get("configMapRef", {}).get("name", "").startswith("mesh-kafka")]

        self.assertCaught(self.errors(drop_kafka), "dev: Deployment gateway", "needs KAFKA_BROKERS")

    def test_a_gateway_without_a_token_key_is_refused(self):
        def drop_auth(rendered):
            c = container(rendered["prod"], "gateway")
            c["envFrom"] = [s for s in c["envFrom"] if "secretRef" not in s]

        self.assertCaught(self.errors(drop_auth), "prod: Deployment gateway", "needs GATEWAY_JWT_SECRET or GATEWAY_JWKS_URL")

    def test_a_misspelt_variable_is_one_no_binary_reads(self):
        def misspell(rendered):
            data = find(rendered["prod"], "ConfigMap", "mesh-kafka")["data"]
            data["KAFKA_BROKER"] = data.pop("KAFKA_BROKERS")

        errors = self.errors(misspell)
        self.assertCaught(errors, "Deployment order-service: sets KAFKA_BROKER (from ConfigMap mesh-kafka", "did you mean KAFKA_BROKERS?")
        self.assertCaught(errors, "Deployment order-service: needs KAFKA_BROKERS")

    def test_a_variable_for_another_binary_is_refused(self):
        def seed_orders(rendered):
            find(rendered["dev"], "ConfigMap", "order-service-config")["data"]["MENU_SEED"] = "true"

        self.assertCaught(self.errors(seed_orders), "Deployment order-service: sets MENU_SEED", "which order-service never reads")

    def test_kafka_brokers_must_use_the_client_port_of_the_kafka_service(self):
        def port(value):
            def mutate(rendered):
                find(rendered["dev"], "ConfigMap", "mesh-kafka")["data"]["KAFKA_BROKERS"] = value
            return mutate

        # 9093 is a port of the Service, but the controller's, not the clients'.
        self.assertCaught(
            self.errors(port("kafka.mesh.svc.cluster.local:9093")),
            "KAFKA_BROKERS=kafka.mesh.svc.cluster.local:9093", "not its client listener (9092)",
        )
        self.assertCaught(
            self.errors(port("kafka.mesh.svc.cluster.local:9094")),
            "port 9094 is not a port of Service kafka",
        )
        self.assertCaught(self.errors(port("kafka.other.svc.cluster.local:9092")), "names no Service of kafka")

    def test_backend_urls_must_name_the_right_service_and_port(self):
        def menu_url(value):
            def mutate(rendered):
                find(rendered["prod"], "ConfigMap", "gateway-config")["data"]["MENU_URL"] = value
            return mutate

        self.assertCaught(
            self.errors(menu_url("http://order-service.mesh.svc.cluster.local:50051")),
            "MENU_URL=http://order-service.mesh.svc.cluster.local:50051", "names no Service of menu-service",
        )
        self.assertCaught(
            self.errors(menu_url("http://menu-service.mesh.svc.cluster.local:50052")),
            "port 50052 is not a port of Service menu-service",
        )

    def test_pg_url_names_the_services_own_role(self):
        def superuser(rendered):
            secret = find(rendered["dev"], "Secret", "billing-service-db")
            secret["data"] = {}
            secret["stringData"] = {"PG_URL": "postgres://postgres:dev-only@postgres.mesh.svc.cluster.local:5432"}

        self.assertCaught(self.errors(superuser), "billing-service", "role postgres must be named like its database billing")

    def test_a_bind_address_on_loopback_is_refused(self):
        def loopback(rendered):
            find(rendered["prod"], "ConfigMap", "menu-service-config")["data"]["MENU_ADDR"] = "127.0.0.1:50051"

        self.assertCaught(self.errors(loopback), "MENU_ADDR=127.0.0.1:50051 must bind every interface")

    # === images ===

    def test_compose_images_are_pinned(self):
        for image in ("postgres", "postgres:latest"):
            def unpinned(compose, image=image):
                compose["services"]["postgres"]["image"] = image

            self.assertCaught(self.errors(compose=unpinned), f"compose: postgres: image {image} is not pinned")

    def test_dev_runs_the_images_cluster_images_loads(self):
        def pulled(rendered):
            container(rendered["dev"], "gateway")["image"] = "ghcr.io/mesh-org/mesh-gateway:0.1.0"
            container(rendered["dev"], "menu-service")["imagePullPolicy"] = "Always"
            container(rendered["prod"], "order-service")["image"] = "mesh-order-service:dev"

        errors = self.errors(pulled)
        self.assertCaught(errors, "dev: Deployment gateway: image ghcr.io/mesh-org/mesh-gateway:0.1.0 is not one scripts/cluster-images builds")
        self.assertCaught(errors, "dev: Deployment menu-service: imagePullPolicy must be IfNotPresent")
        self.assertCaught(errors, "prod: Deployment order-service: image mesh-order-service:dev is dev's local build")

    def test_the_dockerfile_runs_as_a_numeric_non_root_user(self):
        with tempfile.TemporaryDirectory() as tmp:
            text = (ROOT / "Dockerfile").read_text().replace("USER 10001:10001", "USER mesh")
            (pathlib.Path(tmp) / "Dockerfile").write_text(text)
            errors = self.errors(root=pathlib.Path(tmp))
        self.assertCaught(errors, "Dockerfile: USER mesh must be a numeric non-root uid")

    def test_a_manifest_missing_from_the_kustomization_is_reported(self):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(ROOT / "deploy", pathlib.Path(tmp) / "deploy")
            shutil.copy(ROOT / "Dockerfile", tmp)
            (pathlib.Path(tmp) / "deploy/base/ingress.yaml").write_text("kind: Ingress\n")
            errors = self.errors(root=pathlib.Path(tmp))
        self.assertCaught(errors, "deploy: deploy/base/kustomization.yaml does not use ingress.yaml")

    # === workloads ===

    def test_probes_ask_the_services_port(self):
        def wrong_probe(rendered):
            container(rendered["prod"], "delivery-service")["readinessProbe"]["grpc"]["port"] = 50051

        self.assertCaught(self.errors(wrong_probe), "delivery-service: readinessProbe must be a grpc probe on port 50053")

    def test_one_disruption_budget_that_lets_a_drain_evict(self):
        def second_budget(rendered):
            budget = copy.deepcopy(find(rendered["prod"], "PodDisruptionBudget", "menu-service"))
            budget["metadata"]["name"] = "menu-service-during-migration"
            rendered["prod"].append(budget)

        self.assertCaught(self.errors(second_budget), "prod: Deployment menu-service: 2 PodDisruptionBudgets select")

        def no_eviction(rendered):
            find(rendered["prod"], "PodDisruptionBudget", "gateway")["spec"]["maxUnavailable"] = 0
            spec = find(rendered["prod"], "PodDisruptionBudget", "order-service")["spec"]
            del spec["maxUnavailable"]
            spec["minAvailable"] = "100%"

        errors = self.errors(no_eviction)
        for name in ("gateway", "order-service"):
            self.assertCaught(errors, f"prod: Deployment {name}: its PodDisruptionBudget allows no eviction")

    def test_autoscalers_own_the_replica_count(self):
        def no_hpa(rendered):
            rendered["prod"].remove(find(rendered["prod"], "HorizontalPodAutoscaler", "gateway"))

        self.assertCaught(self.errors(no_hpa), "prod: Deployment gateway: needs a HorizontalPodAutoscaler")

        def fixed_replicas(rendered):
            find(rendered["prod"], "Deployment", "order-service")["spec"]["replicas"] = 2

        self.assertCaught(self.errors(fixed_replicas), "order-service: sets replicas although HorizontalPodAutoscaler")

    def test_connection_pools_fit_postgres(self):
        def scale_out(rendered):
            find(rendered["prod"], "HorizontalPodAutoscaler", "order-service")["spec"]["maxReplicas"] = 30

        self.assertCaught(self.errors(scale_out), "prod: the services may open", "over PostgreSQL's 97")

    # === security ===

    def test_no_secret_outside_dev(self):
        def leak(rendered):
            rendered["prod"].append(copy.deepcopy(find(rendered["dev"], "Secret", "menu-service-db")))

        self.assertCaught(self.errors(leak), "prod: renders Secret menu-service-db")

    def test_no_overlay_turns_the_dev_sign_in_on(self):
        def sign_in(overlay):
            def mutate(rendered):
                find(rendered[overlay], "ConfigMap", "gateway-config")["data"]["GATEWAY_DEV_LOGIN"] = "true"
            return mutate

        for overlay in OVERLAYS:
            self.assertCaught(
                self.errors(sign_in(overlay)),
                f"{overlay}: Deployment gateway: GATEWAY_DEV_LOGIN=true turns the development sign-in on",
            )

    def test_prod_checks_the_token_claims_and_says_no_dev_sign_in(self):
        def drop(*names):
            def mutate(rendered):
                data = find(rendered["prod"], "ConfigMap", "gateway-config")["data"]
                for name in names:
                    del data[name]
            return mutate

        for name in ("GATEWAY_JWT_ISSUER", "GATEWAY_JWT_AUDIENCE", "GATEWAY_JWT_MAX_LIFETIME_SECS"):
            self.assertCaught(self.errors(drop(name)), "prod: Deployment gateway: needs " + name)
        self.assertCaught(
            self.errors(drop("GATEWAY_DEV_LOGIN")),
            "prod: Deployment gateway: must set GATEWAY_DEV_LOGIN=false explicitly",
        )

        def forever(rendered):
            find(rendered["prod"], "ConfigMap", "gateway-config")["data"]["GATEWAY_JWT_MAX_LIFETIME_SECS"] = "0"

        self.assertCaught(self.errors(forever), "GATEWAY_JWT_MAX_LIFETIME_SECS=0 must be a positive number of seconds")

    def test_the_repository_holds_no_usable_token_key(self):
        def known_key(rendered):
            secret = find(rendered["dev"], "Secret", "gateway-auth")
            secret["data"] = {}
            secret["stringData"] = {"GATEWAY_JWT_SECRET": "dev-only-jwt-secret-not-for-shared-clusters"}

        self.assertCaught(
            self.errors(known_key), "dev: Secret gateway-auth key GATEWAY_JWT_SECRET holds a usable key (43 bytes)",
        )

    def test_the_token_key_comes_from_a_git_ignored_file(self):
        def broken_root(edit):
            with tempfile.TemporaryDirectory() as tmp:
                shutil.copytree(ROOT / "deploy", pathlib.Path(tmp) / "deploy")
                shutil.copy(ROOT / "Dockerfile", tmp)
                shutil.copy(ROOT / ".gitignore", tmp)
                edit(pathlib.Path(tmp))
                return self.errors(root=pathlib.Path(tmp))

        where = "deploy: deploy/overlays/dev/kustomization.yaml: Secret gateway-auth"

        def not_ignored(tmp):
            gitignore = tmp / ".gitignore"
            gitignore.write_text(gitignore.read_text().replace("/deploy/overlays/dev/gateway-auth.env\n", ""))

        self.assertCaught(broken_root(not_ignored), where, "reads gateway-auth.env, which .gitignore does not name")

        def no_example(tmp):
            (tmp / "deploy/overlays/dev/gateway-auth.env.example").unlink()

        self.assertCaught(broken_root(no_example), where, "no gateway-auth.env.example beside it")

        def literal(tmp):
            kfile = tmp / "deploy/overlays/dev/kustomization.yaml"
            kfile.write_text(kfile.read_text().replace(
                "    envs: [gateway-auth.env]\n",
                "    literals:\n      - GATEWAY_JWT_SECRET=dev-only-jwt-secret-not-for-shared-clusters\n",
            ))

        self.assertCaught(broken_root(literal), where, "writes GATEWAY_JWT_SECRET as a literal")

    def test_network_policies_allow_exactly_what_the_settings_use(self):
        def no_menu_for_orders(rendered):
            rendered["dev"].remove(find(rendered["dev"], "NetworkPolicy", "menu-from-order-service"))

        self.assertCaught(
            self.errors(no_menu_for_orders), "order-service cannot reach menu-service on port 50051",
        )

        def open_backends(rendered):
            del find(rendered["prod"], "NetworkPolicy", "backends-from-gateway")["spec"]["ingress"][0]["from"]

        self.assertCaught(
            self.errors(open_backends), "prod: NetworkPolicy: billing-service may be reached from (outside the namespace)",
        )

    # === Kafka ===

    def test_topics_are_the_ones_the_code_uses(self):
        def forget_a_dlq(rendered):
            job = find(rendered["prod"], "Job", "kafka-topics")["spec"]["template"]["spec"]["containers"][0]
            topics = next(e for e in job["env"] if e["name"] == "MESH_TOPICS")
            topics["value"] = topics["value"].replace("billing-requests.dlq", "")

        self.assertCaught(self.errors(forget_a_dlq), "Job kafka-topics declares", "mesh-kafka uses")

    def test_topic_auto_creation_is_off(self):
        def auto_create(rendered):
            find(rendered["prod"], "ConfigMap", "kafka-broker")["data"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] = "true"

        self.assertCaught(self.errors(auto_create), "prod: Kafka needs KAFKA_AUTO_CREATE_TOPICS_ENABLE=false")

    def test_replication_fits_the_brokers(self):
        def one_node(rendered):
            find(rendered["prod"], "StatefulSet", "kafka")["spec"]["replicas"] = 1

        errors = self.errors(one_node)
        self.assertCaught(errors, "prod: KAFKA_CONTROLLER_QUORUM_VOTERS must list the 1 pod(s)")
        self.assertCaught(errors, "KAFKA_REPLICATION_FACTOR=3 exceeds Kafka's 1 node(s)")

    # === docker-compose.yml ===

    def test_compose_env_against_the_code(self):
        def misspell(compose):
            env = compose["services"]["menu-service"]["environment"]
            env["MENU_SEEDS"] = env.pop("MENU_SEED")

        self.assertCaught(self.errors(compose=misspell), "compose: menu-service: sets MENU_SEEDS", "did you mean MENU_SEED?")

        def wrong_port(compose):
            compose["services"]["billing-service"]["environment"]["KAFKA_BROKERS"] = "kafka:9093"

        self.assertCaught(self.errors(compose=wrong_port), "compose: billing-service: KAFKA_BROKERS=kafka:9093")

        def no_menu(compose):
            del compose["services"]["order-service"]["environment"]["MENU_URL"]

        self.assertCaught(self.errors(compose=no_menu), "compose: order-service", "needs MENU_URL")

    def test_compose_publishes_only_the_gateway_and_waits_for_health(self):
        def publish(compose):
            compose["services"]["menu-service"]["ports"] = ["50051:50051"]
            del compose["services"]["postgres"]["healthcheck"]

        errors = self.errors(compose=publish)
        self.assertCaught(errors, "compose: menu-service publishes ports")
        self.assertCaught(errors, "waits for postgres to be healthy, but postgres has no healthcheck")

    def test_compose_publishes_on_loopback_unless_asked(self):
        def every_interface(entry):
            def mutate(compose):
                compose["services"]["gateway"]["ports"] = [entry]
            return mutate

        for entry in ("3000:3000", "${MESH_BIND_ADDR}:3000:3000", "${MESH_BIND_ADDR:-0.0.0.0}:3000:3000",
                      {"target": 3000, "published": 3000}):
            self.assertCaught(
                self.errors(compose=every_interface(entry)),
                "compose: gateway publishes", "on every interface by default",
            )
        self.assertNotCaught(self.errors(compose=every_interface("[::1]:3000:3000")), "compose: gateway publishes")

        def publish_postgres(compose):
            compose["services"]["postgres"]["ports"] = ["5432:5432"]

        self.assertCaught(self.errors(compose=publish_postgres), "compose: postgres publishes 5432:5432 on every interface")

    def test_compose_requires_the_token_key_from_the_shell(self):
        def key(value):
            def mutate(compose):
                compose["services"]["gateway"]["environment"]["GATEWAY_JWT_SECRET"] = value
            return mutate

        for value in ("${GATEWAY_JWT_SECRET:-dev-only-jwt-secret-not-for-shared-clusters}",
                      "dev-only-jwt-secret-not-for-shared-clusters", "${GATEWAY_JWT_SECRET}"):
            self.assertCaught(
                self.errors(compose=key(value)),
                "compose: gateway: GATEWAY_JWT_SECRET", "must be required from the shell",
            )
        self.assertNotCaught(self.errors(compose=key("${GATEWAY_JWT_SECRET?set it}")), "compose: gateway")

    def test_compose_leaves_the_dev_sign_in_off_unless_asked(self):
        def login(value):
            def mutate(compose):
                compose["services"]["gateway"]["environment"]["GATEWAY_DEV_LOGIN"] = value
            return mutate

        for value in ("true", "${GATEWAY_DEV_LOGIN:-true}"):
            self.assertCaught(
                self.errors(compose=login(value)), "compose: gateway: GATEWAY_DEV_LOGIN defaults to true",
            )

    def test_compose_roles_come_from_the_init_script(self):
        def forget_role(compose):
            del compose["services"]["postgres"]["environment"]["PG_URL_INVENTORY"]

        self.assertCaught(self.errors(compose=forget_role), "compose: inventory-service", "its role is never created")


def tool(name):
    """A validator from the venv whose python runs the tests, else from PATH."""
    path = shutil.which(name, path=str(pathlib.Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        raise RuntimeError(f"no {name}: run the tests with the validators' python (scripts/validate-deploy does)")
    return path


def checkov_failures(docs):
    """{(check id, resource)} checkov fails in one overlay, run offline as validate-deploy runs
    it. Resources read Kind.namespace.name (Pod.<ns>.<name>.<labels> for a pod template)."""
    args = [tool("checkov"), "--framework", "kubernetes", "--skip-download", "--external-checks-dir", str(POLICIES),
            "-o", "json"]
    if os.environ.get("MESH_CHECKOV_SKIP"):
        args += ["--skip-check", os.environ["MESH_CHECKOV_SKIP"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "overlay.yaml"
        path.write_text(yaml.safe_dump_all(docs))
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
        result = subprocess.run([*args, "-f", str(path)], capture_output=True, text=True, env=env, check=False)
    report = json.loads(result.stdout)
    return {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}


class PolicyTest(unittest.TestCase):
    """Each generic mistake deploy_checks.py used to look for fails the checkov check (or the
    hadolint rule) that replaced it. One checkov run per overlay, over a copy with each mistake
    made on a resource of its own."""

    failures = set()

    @classmethod
    def setUpClass(cls):
        rendered = copy.deepcopy(Fixture.rendered)
        prod, dev = rendered["prod"], rendered["dev"]
        container(prod, "gateway")["image"] = "ghcr.io/mesh-org/mesh-gateway:latest"
        container(prod, "menu-service")["image"] = "ghcr.io/mesh-org/mesh-menu-service"
        del container(prod, "order-service")["resources"]
        container(prod, "delivery-service")["securityContext"]["allowPrivilegeEscalation"] = True
        del container(prod, "inventory-service")["securityContext"]["capabilities"]
        del container(prod, "billing-service")["securityContext"]["readOnlyRootFilesystem"]
        pod = find(prod, "StatefulSet", "postgres")["spec"]["template"]["spec"]["securityContext"]
        del pod["runAsNonRoot"], pod["runAsUser"]
        for policy in ("default-deny-ingress", "kafka-from-clients"):
            prod.remove(find(prod, "NetworkPolicy", policy))
        find(dev, "Secret", "gateway-auth")["metadata"].pop("namespace", None)
        # Ours (deploy/policies), in dev.
        dev.remove(find(dev, "PodDisruptionBudget", "delivery-service"))
        spread = find(dev, "Deployment", "order-service")["spec"]["template"]["spec"]
        spread["topologySpreadConstraints"] = [
            s for s in spread["topologySpreadConstraints"] if s["topologyKey"] != "kubernetes.io/hostname"
        ]
        copied = find(dev, "Deployment", "billing-service")["spec"]["template"]["spec"]["topologySpreadConstraints"]
        for s in copied:
            s["labelSelector"]["matchLabels"] = {"app.kubernetes.io/name": "menu-service"}
        del container(dev, "gateway")["lifecycle"]
        find(dev, "Deployment", "menu-service")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 8
        del find(dev, "Service", "inventory-service")["spec"]["clusterIP"]
        kafka = find(dev, "Service", "kafka")["spec"]
        kafka["type"] = "LoadBalancer"
        del kafka["clusterIP"]
        dev.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "mesh", "namespace": "mesh"},
            "spec": {"defaultBackend": {"service": {"name": "gateway", "port": {"number": 3000}}}},
        })
        cls.failures = checkov_failures(prod) | checkov_failures(dev)

    def assertFails(self, check, resource):
        caught = sorted(r for c, r in self.failures if c == check and r.startswith(resource))
        if caught and os.environ.get("MESH_SHOW_CAUGHT"):
            print(f"\n  {self._testMethodName}: checkov {check} fails {', '.join(caught)}", end="")
        self.assertTrue(caught, f"checkov {check} does not fail {resource}; it fails: {sorted(self.failures)}")

    def test_images_carry_a_tag_other_than_latest(self):
        self.assertFails("CKV_K8S_14", "Deployment.mesh.gateway")
        self.assertFails("CKV_K8S_14", "Deployment.mesh.menu-service")

    def test_containers_request_and_limit_cpu_and_memory(self):
        for check in ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"):
            self.assertFails(check, "Deployment.mesh.order-service")

    def test_no_privilege_escalation(self):
        self.assertFails("CKV_K8S_20", "Deployment.mesh.delivery-service")

    def test_all_capabilities_dropped(self):
        self.assertFails("CKV_K8S_37", "Deployment.mesh.inventory-service")

    def test_read_only_root_filesystem(self):
        self.assertFails("CKV_K8S_22", "Deployment.mesh.billing-service")

    def test_no_root_containers(self):
        self.assertFails("CKV_K8S_23", "StatefulSet.mesh.postgres")

    def test_every_pod_has_a_network_policy(self):
        self.assertFails("CKV2_K8S_6", "Pod.mesh.kafka.")

    def test_an_overlay_generates_into_the_mesh_namespace(self):
        self.assertFails("CKV_K8S_21", "Secret.default.gateway-auth")

    # Ours, in deploy/policies.

    def test_every_deployment_has_a_disruption_budget(self):
        self.assertFails("CKV2_MESH_1", "Pod.mesh.delivery-service.")

    def test_every_deployment_spreads_its_own_pods_over_nodes(self):
        self.assertFails("CKV_MESH_1", "Deployment.mesh.order-service")  # no constraint over hostname
        self.assertFails("CKV_MESH_1", "Deployment.mesh.billing-service")  # one copied from menu-service

    def test_pods_drain_before_sigterm_within_the_grace_period(self):
        self.assertFails("CKV_MESH_2", "Deployment.mesh.gateway")  # no preStop sleep
        self.assertFails("CKV_MESH_2", "Deployment.mesh.menu-service")  # 8 s grace after a 5 s sleep

    def test_backends_need_headless_services(self):
        self.assertFails("CKV2_MESH_2", "Service.mesh.inventory-service")

    def test_only_the_gateway_is_reachable_from_outside(self):
        self.assertFails("CKV2_MESH_3", "Service.mesh.kafka")

    def test_no_ingress(self):
        self.assertFails("CKV2_MESH_4", "Ingress.mesh.mesh")

    def test_the_dockerfile_pins_its_base_images(self):
        text = (ROOT / "Dockerfile").read_text()
        for base, rule in (("debian:latest", "DL3007"), ("debian", "DL3006")):
            broken, count = re.subn(r"(?m)^FROM debian:\S+", f"FROM {base}", text)
            self.assertEqual(count, 1, "the Dockerfile has no FROM debian:<tag> line to break")
            result = subprocess.run([tool("hadolint"), "-"], input=broken, capture_output=True, text=True, check=False)
            self.assertIn(rule, result.stdout, f"hadolint lets FROM {base} through")


class SettingsTest(unittest.TestCase):
    """The names come from the binaries: each lists what it reads, and nothing more."""

    def test_each_binary_lists_what_it_reads(self):
        env = settings.scan(ROOT)
        self.assertIn("MENU_ADDR", env["menu-service"].required)
        self.assertNotIn("KAFKA_BROKERS", env["menu-service"].accepted)
        self.assertNotIn("PG_URL", env["gateway"].accepted)
        for binary in ("order-service", "billing-service", "delivery-service", "gateway"):
            self.assertIn("KAFKA_BROKERS", env[binary].required, binary)
        self.assertIn("MENU_URL", env["order-service"].required)
        self.assertTrue(env["gateway"].accepted["GATEWAY_JWT_SECRET"].secret)
        # design.md's ports, which the scripts and deploy_checks.py take from the binaries.
        ports = {binary: benv.port for binary, benv in env.items()}
        self.assertEqual(ports["menu-service"], 50051)
        self.assertEqual(ports["billing-service"], 50055)
        self.assertEqual(ports["gateway"], 3000)
        self.assertIsNone(env["gateway"].accepted["GATEWAY_JWT_SECRET"].default)

    def test_the_docs_list_every_setting(self):
        docs = settings.DOCS.read_text()
        self.assertEqual(
            docs,
            settings.docs_with(docs, settings.table(settings.scan(ROOT))),
            f"{settings.DOCS} differs from what the binaries list: "
            "python3 scripts/lib/settings.py --write-docs",
        )


if __name__ == "__main__":
    unittest.main()
