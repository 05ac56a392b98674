"""CKV_MESH_2: a Deployment's containers sleep in preStop, so that the pod leaves its Service's
endpoints (and the gateway's DNS answers) before SIGTERM, and the grace period leaves them time
after that sleep to finish what is in flight before SIGKILL."""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

# What a pod has left after its preStop sleep, at least, before SIGKILL.
MIN_DRAIN_SECONDS = 10
# Kubernetes' default terminationGracePeriodSeconds.
DEFAULT_GRACE_SECONDS = 30


def pre_stop_sleep(container):
    """The seconds a container's preStop hook sleeps (the sleep action, or exec sleep N), else None."""
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    seconds = pre_stop.get("sleep", {}).get("seconds")
    command = pre_stop.get("exec", {}).get("command", [])
    if seconds is None and command and "sleep" in str(command[0]) and str(command[-1]).isdigit():
        seconds = int(command[-1])
    return seconds


class DrainBeforeStop(BaseK8Check):
    def __init__(self):
        super().__init__(
            name=f"A Deployment's containers sleep in preStop, and its grace period leaves "
            f"{MIN_DRAIN_SECONDS} s after that sleep",
            id="CKV_MESH_2",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("Deployment",),
        )

    def scan_spec_conf(self, conf):
        spec = conf.get("spec", {}).get("template", {}).get("spec", {})
        grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        for container in spec.get("containers", []):
            sleep = pre_stop_sleep(container)
            if sleep is None or grace < sleep + MIN_DRAIN_SECONDS:
                return CheckResult.FAILED
        return CheckResult.PASSED


check = DrainBeforeStop()
