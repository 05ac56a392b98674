#!/usr/bin/env python3
"""Import circles among a Rust crate's modules, so a crate's layers stay visible.

    scripts/lib/module_cycles.py CRATE_DIR...
    scripts/lib/module_cycles.py --workspace ROOT [--except CRATE_DIR...]

With --workspace, the crates are the members of ROOT/Cargo.toml that have a src/ directory.

For each crate, a module imports another when its code (not its comments, not its inline
`#[cfg(test)]` module) names it through `crate::` or `super::`; declaring a child (`mod x;`) is
not an import. Prints every circle (a strongly connected set of modules) with the imports that
close it, and exits 1 when any crate has one.
"""

import os
import re
import sys
import tomllib


def modules(crate):
    """Module path -> its code, for every `.rs` file under CRATE/src."""
    src = os.path.join(crate, "src")
    found = {}
    for directory, _, files in os.walk(src):
        for file in files:
            if not file.endswith(".rs"):
                continue
            path = os.path.join(directory, file)
            relative = os.path.relpath(path, src)[:-3]
            parts = relative.split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                name = "crate"
            else:
                name = "::".join(["crate"] + parts)
            with open(path, encoding="utf-8") as handle:
                code = handle.read()
            code = re.sub(r"//[^\n]*", "", code)
            found[name] = code.split("#[cfg(test)]")[0]
    return found


def split_group(body):
    """`a::b, c::{d, e}` -> its top-level items."""
    items, depth, current = [], 0, ""
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    if current:
        items.append(current)
    return items


def expand(prefix, body):
    """Every path a `use` tree names."""
    paths = []
    for item in split_group(body):
        if "{" in item:
            head, rest = item.split("{", 1)
            paths += expand(prefix + head, rest.rsplit("}", 1)[0])
        else:
            paths.append(prefix + item)
    return paths


def imports(name, code, known):
    """The modules `name` imports."""

    def resolve(path):
        parts = path.split("::")
        while parts:
            candidate = "::".join(parts)
            if candidate in known:
                return candidate
            parts = parts[:-1]
        return None

    parent = "::".join(name.split("::")[:-1]) or "crate"
    named = []
    for tree in re.findall(r"use\s+((?:crate|super)::[^;]+);", code, re.S):
        tree = re.sub(r"\s+", "", tree)
        if "{" in tree:
            head, body = tree.split("{", 1)
            named += expand(head, body.rsplit("}", 1)[0])
        else:
            named.append(tree)
    named += re.findall(r"\b((?:crate|super)::[A-Za-z_][A-Za-z_0-9:]*)", code)
    targets = set()
    for path in named:
        path = path.split(" as ")[0].replace("::self", "").rstrip(":")
        if path.startswith("super::"):
            path = parent + path[len("super") :]
        target = resolve(path)
        if target and target != name:
            targets.add(target)
    return targets


def circles(graph):
    """Tarjan's strongly connected components of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main(crates):
    failed = False
    for crate in crates:
        code = modules(crate)
        graph = {name: imports(name, text, code) for name, text in code.items()}
        found = circles(graph)
        print(f"{crate}: {len(code)} modules, {len(found)} import circles")
        for circle in found:
            failed = True
            print(f"  circle of {len(circle)}:")
            for module in circle:
                for target in sorted(graph[module] & set(circle)):
                    print(f"    {module} -> {target}")
    return 1 if failed else 0


def workspace_crates(root, excepted):
    with open(os.path.join(root, "Cargo.toml"), "rb") as handle:
        members = tomllib.load(handle)["workspace"]["members"]
    return [
        os.path.join(root, member)
        for member in members
        if member not in excepted and os.path.isdir(os.path.join(root, member, "src"))
    ]


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--workspace"] and len(arguments) >= 2:
        excepted = arguments[3:] if arguments[2:3] == ["--except"] else []
        sys.exit(main(workspace_crates(arguments[1], excepted)))
    sys.exit(main(arguments))
