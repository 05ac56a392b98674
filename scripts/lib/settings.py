"""The settings each mesh binary reads, as the binary itself lists them.

Each binary declares its settings in one typed struct (`mesh_kit::settings`) and answers
`BINARY --print-settings=json` with every variable it reads: its default, its meaning and whether
it is a secret. Nothing here is a list kept by hand:
- deploy_checks.py holds every container's env against it (a variable no binary reads fails, one
  a cluster cannot do without must be set);
- supervisor_conf.py passes each program of scripts/up exactly the variables it reads;
- docs/configuration.md's table is written from it (`--write-docs`), and a test fails when the
  table and the binaries disagree.

A setting is *required* in a cluster when its default points at this machine (127.0.0.1,
localhost): a pod that falls back to it binds or dials its own loopback.

The binaries are the dev build's (`target/debug`, what scripts/up and scripts/test build), or
those in $MESH_BIN_DIR.

Usage: settings.py [--write-docs | --port BINARY | --defaults]
    prints what each binary reads, rewrites the docs' table, prints a binary's default port, or
    prints every variable's default as NAME=VALUE (empty: unset).
"""

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys

BINARIES = [
    "menu-service",
    "order-service",
    "delivery-service",
    "inventory-service",
    "billing-service",
    "gateway",
]
ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs/configuration.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
LOOPBACK = re.compile(r"127\.0\.0\.1|\blocalhost\b")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One variable a binary reads."""

    name: str
    default: str | None  # None: unset means absent
    help: str
    secret: bool
    where: str  # how to see it: "gateway --print-settings"

    @property
    def loopback(self):
        """The default points at the machine itself: no default for a cluster."""
        return bool(self.default and LOOPBACK.search(self.default))


@dataclasses.dataclass
class BinaryEnv:
    """What one binary reads: every name it accepts, and the ones a cluster must set."""

    binary: str
    accepted: dict  # name -> Setting
    required: dict  # name -> Setting

    @property
    def port(self):
        """The port it serves by default: its `<PREFIX>_ADDR`'s (MENU_ADDR, GATEWAY_ADDR)."""
        prefix = self.binary.removesuffix("-service").upper()
        return int(self.accepted[f"{prefix}_ADDR"].default.rsplit(":", 1)[1])


def bin_dir(root=ROOT):
    return pathlib.Path(os.environ.get("MESH_BIN_DIR") or pathlib.Path(root) / "target/debug")


def listed(binary, root=ROOT):
    """The binary's own list of its settings."""
    path = bin_dir(root) / binary
    if not path.exists():
        raise SystemExit(
            f"settings.py: {path} is missing: build the mesh first "
            "(cargo build --workspace --exclude mesh-broker --bins)"
        )
    out = subprocess.run([str(path), "--print-settings=json"], capture_output=True, text=True, check=True)
    return [
        Setting(item["name"], item["default"], item["help"], item["secret"], f"{binary} --print-settings")
        for item in json.loads(out.stdout)
    ]


def scan(root=ROOT):
    """{binary: BinaryEnv} for the mesh's six binaries."""
    result = {}
    for binary in BINARIES:
        accepted = {setting.name: setting for setting in listed(binary, root)}
        required = {name: setting for name, setting in accepted.items() if setting.loopback}
        result[binary] = BinaryEnv(binary, accepted, required)
    return result


def table(env):
    """Every setting once, with the binaries that read it, as a Markdown table."""
    rows = {}
    for binary, benv in env.items():
        for name, setting in benv.accepted.items():
            rows.setdefault(name, (setting, []))[1].append(binary)
    lines = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
    for name, (setting, binaries) in rows.items():
        # A checkout's own paths (the gateway's asset folders) as relative ones: the same table
        # in every clone.
        default = (setting.default or "").replace(f"{ROOT}/", "")
        default = f"`{default}`" if default else "unset"
        readers = "all" if len(binaries) == len(env) else ", ".join(binaries)
        meaning = setting.help.replace("|", "\\|").replace("\n", " ")
        if setting.secret:
            meaning += " (a secret: never printed or logged)"
        lines.append(f"| `{name}` | {default} | {readers} | {meaning} |")
    return "\n".join(lines) + "\n"


def docs_with(text, generated):
    """`text` with the part between the markers replaced by `generated`."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"settings.py: {DOCS} has no {BEGIN} ... {END} block")
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main(argv):
    if len(argv) == 2 and argv[0] == "--port" and argv[1] in BINARIES:
        print(BinaryEnv(argv[1], {s.name: s for s in listed(argv[1])}, {}).port)
        return 0
    env = scan()
    if argv == ["--write-docs"]:
        DOCS.write_text(docs_with(DOCS.read_text(), table(env)))
        return 0
    if argv == ["--defaults"]:
        defaults = {}
        for benv in env.values():
            for name, setting in benv.accepted.items():
                defaults.setdefault(name, setting.default or "")
        print("\n".join(f"{name}={value}" for name, value in defaults.items()))
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for binary, benv in env.items():
        print(binary)
        for name, setting in benv.accepted.items():
            need = "required" if name in benv.required else "optional"
            print(f"  {name:<34} {need} default={setting.default or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
