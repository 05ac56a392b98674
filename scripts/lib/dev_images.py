"""The mesh images the dev overlay runs, from its kustomization's `images:`: the one list
scripts/cluster-images builds and loads into a laptop cluster, and deploy_checks.py holds the
rendered dev overlay to.

    python3 scripts/lib/dev_images.py [repo root]     prints "<binary> <image>" per line,
                                                      e.g. "gateway mesh-gateway:dev"

An entry is the mesh's when the image it renames is mesh-<binary> (any registry in front); the
binary is the Dockerfile's BIN. Each needs a newTag other than latest and no digest: the image
is built here, and with :latest the kubelet would try to pull it.
"""

import pathlib
import re
import sys

import yaml

KUSTOMIZATION = "deploy/overlays/dev/kustomization.yaml"
MESH_IMAGE = re.compile(r"(?:^|/)mesh-([a-z0-9-]+)$")


def read(root):
    """[(binary, image)] in the order of the dev overlay's `images:`. Raises ValueError when the
    list is missing or an entry is not a local name with a usable tag."""
    path = pathlib.Path(root) / KUSTOMIZATION
    if not path.is_file():
        raise ValueError(f"{KUSTOMIZATION}: no such file under {root}")
    entries = (yaml.safe_load(path.read_text()) or {}).get("images") or []
    images = []
    for entry in entries:
        match = MESH_IMAGE.search(str(entry.get("name", "")))
        if not match:
            continue
        binary, tag = match.group(1), str(entry.get("newTag", ""))
        if tag in ("", "latest") or "digest" in entry:
            raise ValueError(f"{KUSTOMIZATION}: image {entry['name']} needs a newTag other than latest, and no digest")
        images.append((binary, f"{entry.get('newName', entry['name'])}:{tag}"))
    if not images:
        raise ValueError(f"{KUSTOMIZATION}: its images: names no mesh-<binary> image")
    return images


def main():
    try:
        images = read(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    for binary, image in images:
        print(binary, image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
