"""checkov's custom policies for this mesh's Kubernetes manifests: generic rules, one object (or,
in the graph policies, one label-selector edge) at a time, that checkov's own CKV_K8S_* do not
have. scripts/validate-deploy runs them on each rendered overlay with
`checkov --external-checks-dir deploy/policies`; test_deploy_checks.py breaks each one.

The YAML files are graph policies (CKV2_MESH_*); a rule YAML cannot state, because it compares
two fields of one object, is a Python check here (CKV_MESH_*). checkov loads the Python checks
only from a directory with an __init__.py: this file.
"""
