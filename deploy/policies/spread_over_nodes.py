"""CKV_MESH_1: a Deployment spreads its pods over nodes, so one node going down takes one pod, not
all of them. The constraint has to select the Deployment's own pods: one copied from another
Deployment would count that one's pods, not these."""

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

HOSTNAME = "kubernetes.io/hostname"


def labels(selector):
    """The labels a selector or metadata names, without checkov's __startline__ and __endline__."""
    return {k: v for k, v in (selector or {}).items() if not k.startswith("__")}


class SpreadOverNodes(BaseK8Check):
    def __init__(self):
        super().__init__(
            name=f"A Deployment has a topologySpreadConstraint over {HOSTNAME} selecting its own pods",
            id="CKV_MESH_1",
            categories=(CheckCategories.KUBERNETES,),
            supported_entities=("Deployment",),
        )

    def scan_spec_conf(self, conf):
        template = conf.get("spec", {}).get("template", {})
        pod_labels = labels(template.get("metadata", {}).get("labels"))
        for spread in template.get("spec", {}).get("topologySpreadConstraints", []):
            selected = labels(spread.get("labelSelector", {}).get("matchLabels"))
            if spread.get("topologyKey") == HOSTNAME and selected and selected.items() <= pod_labels.items():
                return CheckResult.PASSED
        return CheckResult.FAILED


check = SpreadOverNodes()
