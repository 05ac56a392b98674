"""The environment variables each mesh binary reads, taken from its Rust sources.

deploy_checks.py holds every container's env against this, so a variable that no code reads
(a typo, a setting removed from the code) fails, and one the code cannot do without in a cluster
must be set. Nothing is listed by hand: when the code reads a new variable, it is accepted.

How a read is found (a small reader of rustfmt-formatted Rust, not a parser):
- the readers: mesh_kit::config's `var_or`, `parse_or` and `flag_or` (name, default),
  `std::env::var`/`var_os` (no default), tracing's `EnvFilter::*from_default_env` (RUST_LOG);
- a function that passes one of its `&str` parameters to a reader is a reader too (the gateway's
  `urls`), and so is one that builds the name with `format!("{prefix}_ADDR")` from a parameter
  (`listen_addr`, `DatabaseConfig::from_env`): a call `listen_addr("MENU", 50051)` reads
  MENU_ADDR. Found to a fixed point, across mesh-kit and the binary's own crate;
- `#[cfg(test)]` items and comments are ignored.

Whose reads: a binary reads what its own crate reads, plus everything mesh-kit reads (shared
plumbing: any binary may call it). A read is *required* in a cluster when its default points at
this machine (127.0.0.1, localhost): a pod that falls back to it binds or dials its own loopback.
For mesh-kit's reads that counts only for binaries that call the reading function (a binary
without `KafkaConfig::from_env` needs no KAFKA_BROKERS).

Usage: rust_env.py <repo root>   prints what each binary reads.
"""

import dataclasses
import pathlib
import re
import sys

SHARED_CRATE = "mesh-kit"
BINARY_CRATES = [
    "menu-service",
    "order-service",
    "delivery-service",
    "inventory-service",
    "billing-service",
    "gateway",
]

LOOPBACK = re.compile(r"127\.0\.0\.1|\blocalhost\b|\[\s*127\s*,\s*0\s*,\s*0\s*,\s*1\s*\]|LOCALHOST")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class EnvRead:
    """One variable a binary may read."""

    name: str
    default: str | None  # the default's source text, None when unset means "absent"
    loopback: bool  # the default points at the machine itself: no default for a cluster
    owner: str  # the function that reads it: "Type::fn" or "fn"
    where: str  # file:line of the read (or of the call that names it)


@dataclasses.dataclass
class Reader:
    """A function that reads the variable named by one of its arguments."""

    name_arg: int | None  # the argument holding the name (or the template's parameter)
    template: str | None  # "{}_ADDR": the name is built from the argument
    default_arg: int | None  # the argument holding the default, if the caller gives it
    default_text: str | None  # else the default written inside the reader
    fixed_name: str | None = None  # readers of one fixed variable (RUST_LOG)


BASE_READERS = {
    "var_or": Reader(0, None, 1, None),
    "parse_or": Reader(0, None, 1, None),
    "flag_or": Reader(0, None, 1, None),
    "env::var": Reader(0, None, None, None),
    "env::var_os": Reader(0, None, None, None),
    # tracing_subscriber's EnvFilter reads RUST_LOG (its DEFAULT_ENV).
    "EnvFilter::from_default_env": Reader(None, None, None, None, fixed_name="RUST_LOG"),
    "EnvFilter::try_from_default_env": Reader(None, None, None, None, fixed_name="RUST_LOG"),
}


# === Source text ===


def strip_comments(src):
    """Blanks comments (keeping newlines and strings), so doc examples never count as reads."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"' or (c == "r" and re.match(r'r#*"', src[i:]) and not src[i - 1 : i].isalnum()):
            j = string_end(src, i)
            out.append(src[i:j])
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", src[i : i + 4]):
            # a char literal such as '{' must not count as a brace
            j = src.index("'", i + 2 if src[i + 1] == "\\" else i + 1) + 1
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def string_end(src, i):
    """Index just past the string literal starting at i ("..." or r#"..."#)."""
    if src[i] == "r":
        hashes = re.match(r"r(#*)\"", src[i:]).group(1)
        close = '"' + hashes
        return src.index(close, i + 2 + len(hashes)) + len(close)
    j = i + 1
    while src[j] != '"':
        j += 2 if src[j] == "\\" else 1
    return j + 1


def matching(src, i, open_="{", close="}"):
    """Index of the bracket closing the one at i (strings skipped)."""
    depth = 0
    j = i
    while j < len(src):
        c = src[j]
        if c == '"':
            j = string_end(src, j)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ValueError(f"unbalanced {open_} at {i}")


def strip_cfg_test(src):
    """Blanks every #[cfg(test)] item (test modules and test-only functions)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]", src)
        if not m:
            return src
        brace = src.index("{", m.end())
        semi = src.find(";", m.end())
        end = semi if 0 <= semi < brace else matching(src, brace)
        src = src[: m.start()] + re.sub(r"[^\n]", " ", src[m.start() : end + 1]) + src[end + 1 :]


def split_args(text):
    """Top-level comma-separated arguments of a call's argument text."""
    args, depth, start, j = [], 0, 0, 0
    while j < len(text):
        c = text[j]
        if c == '"':
            j = string_end(text, j)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(text[start:j].strip())
            start = j + 1
        j += 1
    last = text[start:].strip()
    if last:
        args.append(last)
    return args


def string_value(arg):
    """The value of a plain string literal argument, else None."""
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', arg.strip())
    return m.group(1) if m else None


@dataclasses.dataclass
class Source:
    path: pathlib.Path
    rel: str
    text: str  # comments and #[cfg(test)] items blanked

    def line(self, pos):
        return self.text.count("\n", 0, pos) + 1


@dataclasses.dataclass
class Function:
    source: Source
    name: str
    owner: str  # "Type::fn" or "fn"
    params: list
    body_start: int
    body_end: int


@dataclasses.dataclass
class Call:
    source: Source
    callee: str  # as written, e.g. "config::listen_addr"
    args: list
    pos: int
    caller: str  # the enclosing function's owner name


def load_crate(root, crate):
    sources = []
    for path in sorted((root / crate / "src").rglob("*.rs")):
        rel = path.relative_to(root).as_posix()
        if crate == SHARED_CRATE and "/src/bin/" in rel:
            continue  # mesh-kit's own tools (mesh-dlq) are not deployed
        text = strip_cfg_test(strip_comments(path.read_text()))
        sources.append(Source(path, rel, text))
    return sources


FN_RE = re.compile(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?fn\s+(\w+)\s*(?:<[^>{]*>)?\s*\(")
IMPL_RE = re.compile(r"(?m)^impl(?:<[^>{]*>)?\s+(?:[\w:<>, ]+\s+for\s+)?(\w+)[^{;]*\{")
CALL_RE = re.compile(r"((?:\w+::)*\w+)\s*(?:::<[^>]*>)?\(")
KEYWORDS = {"if", "while", "for", "match", "return", "fn", "Some", "Ok", "Err", "loop"}


def functions(source):
    impls = []
    for m in IMPL_RE.finditer(source.text):
        brace = m.end() - 1
        impls.append((brace, matching(source.text, brace), m.group(1)))
    result = []
    for m in FN_RE.finditer(source.text):
        paren = m.end() - 1
        close = matching(source.text, paren, "(", ")")
        params = []
        for param in split_args(source.text[paren + 1 : close]):
            pm = re.match(r"(?:mut\s+)?(\w+)\s*:", param)
            params.append(pm.group(1) if pm else param)
        brace = source.text.find("{", close)
        semi = source.text.find(";", close)
        if brace < 0 or 0 <= semi < brace:
            continue  # a declaration without a body
        end = matching(source.text, brace)
        owner_type = next((ty for start, stop, ty in impls if start < m.start() < stop), None)
        name = m.group(1)
        owner = f"{owner_type}::{name}" if owner_type else name
        result.append(Function(source, name, owner, params, brace, end))
    return result


def calls(source, funcs):
    result = []
    for m in CALL_RE.finditer(source.text):
        callee = m.group(1)
        if callee.split("::")[-1] in KEYWORDS:
            continue
        if source.text[max(0, m.start() - 3) : m.start()].endswith("fn "):
            continue  # a definition, not a call
        paren = m.end() - 1
        try:
            close = matching(source.text, paren, "(", ")")
        except ValueError:
            continue
        enclosing = [f for f in funcs if f.body_start < m.start() < f.body_end]
        caller = min(enclosing, key=lambda f: f.body_end - f.body_start).owner if enclosing else ""
        result.append(Call(source, callee, split_args(source.text[paren + 1 : close]), m.start(), caller))
    return result


def reader_for(callee, readers):
    """The reader a call invokes: by qualified name (Type::fn) or by last path segment."""
    parts = callee.split("::")
    if len(parts) >= 2 and "::".join(parts[-2:]) in readers:
        return readers["::".join(parts[-2:])]
    key = parts[-1]
    reader = readers.get(key)
    # "var" alone is too common a name: env::var only when written with its module.
    return None if key in ("var", "var_os") else reader


def discover_readers(funcs, all_calls):
    """BASE_READERS plus every function that hands a parameter (or a name built from one) to a
    reader, to a fixed point."""
    readers = dict(BASE_READERS)
    changed = True
    while changed:
        changed = False
        for func in funcs:
            key = func.owner if "::" in func.owner else func.name
            if key in readers:
                continue
            body = func.source.text[func.body_start : func.body_end]
            formats = {
                m.group(1): m.group(2)
                for m in re.finditer(r'let\s+(\w+)\s*=\s*format!\(\s*"([^"]*)"\s*\)', body)
            }
            for call in all_calls:
                if call.source is not func.source or not func.body_start < call.pos < func.body_end:
                    continue
                inner = reader_for(call.callee, readers)
                if inner is None or inner.name_arg is None or len(call.args) <= inner.name_arg:
                    continue
                arg = call.args[inner.name_arg].lstrip("&").strip()
                template = None
                fm = re.fullmatch(r'format!\(\s*"([^"]*)"\s*\)', arg)
                if fm:
                    template = fm.group(1)
                elif arg in formats:
                    template = formats[arg]
                name_arg = None
                if template is not None:
                    for index, param in enumerate(func.params):
                        if "{" + param + "}" in template:
                            name_arg, template = index, template.replace("{" + param + "}", "{}")
                            break
                elif arg in func.params:
                    name_arg = func.params.index(arg)
                if name_arg is None:
                    continue
                default_arg = default_text = None
                if inner.default_arg is not None and len(call.args) > inner.default_arg:
                    default = call.args[inner.default_arg]
                    if default in func.params:
                        default_arg = func.params.index(default)
                    else:
                        default_text = default
                elif inner.default_text is not None:
                    default_text = inner.default_text
                readers[key] = Reader(name_arg, template, default_arg, default_text)
                changed = True
                break
    return readers


def resolve_const(text, sources):
    """The string a constant names (`DEFAULT_PG_URL`), when it is a string constant."""
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", text.strip()):
        return text
    for source in sources:
        m = re.search(rf'const\s+{text.strip()}\s*:\s*&str\s*=\s*("(?:[^"\\]|\\.)*")', source.text)
        if m:
            return m.group(1)
    return text


def reads(calls_, readers, sources):
    """Every variable named by a call to a reader with a literal name."""
    found = []
    for call in calls_:
        reader = reader_for(call.callee, readers)
        if reader is None:
            continue
        where = f"{call.source.rel}:{call.source.line(call.pos)}"
        if reader.fixed_name:
            found.append(EnvRead(reader.fixed_name, None, False, call.caller, where))
            continue
        if reader.name_arg is None or len(call.args) <= reader.name_arg:
            continue
        literal = string_value(call.args[reader.name_arg])
        if literal is None:
            continue
        name = reader.template.replace("{}", literal) if reader.template else literal
        if not ENV_NAME.match(name):
            continue
        default = reader.default_text
        if reader.default_arg is not None and len(call.args) > reader.default_arg:
            default = call.args[reader.default_arg]
        if default is not None:
            default = resolve_const(default, sources)
            value = string_value(default)
            default = value if value is not None else default
        loopback = bool(default and LOOPBACK.search(default))
        found.append(EnvRead(name, default, loopback, call.caller, where))
    return found


def calls_owner(calls_, owner):
    """Whether any of the calls invokes `owner` ("Type::fn" or "fn")."""
    parts = owner.split("::")
    for call in calls_:
        cparts = call.callee.split("::")
        if cparts[-len(parts) :] == parts:
            return True
    return False


@dataclasses.dataclass
class BinaryEnv:
    """What one binary reads: every name it accepts, and the ones a cluster must set."""

    binary: str
    accepted: dict  # name -> EnvRead
    required: dict  # name -> EnvRead


def scan(root):
    """{binary: BinaryEnv} for the mesh's six binaries."""
    root = pathlib.Path(root)
    shared = load_crate(root, SHARED_CRATE)
    shared_funcs = [f for s in shared for f in functions(s)]
    shared_calls = [c for s in shared for c in calls(s, [f for f in shared_funcs if f.source is s])]
    result = {}
    for binary in BINARY_CRATES:
        own = load_crate(root, binary)
        own_funcs = [f for s in own for f in functions(s)]
        own_calls = [c for s in own for c in calls(s, [f for f in own_funcs if f.source is s])]
        funcs = shared_funcs + own_funcs
        readers = discover_readers(funcs, shared_calls + own_calls)
        accepted, required = {}, {}
        for read in reads(shared_calls, readers, shared + own):
            accepted.setdefault(read.name, read)
            if read.loopback and calls_owner(own_calls, read.owner):
                required.setdefault(read.name, read)
        for read in reads(own_calls, readers, shared + own):
            accepted.setdefault(read.name, read)
            if read.loopback:
                required.setdefault(read.name, read)
        result[binary] = BinaryEnv(binary, accepted, required)
    return result


def main():
    for binary, env in scan(sys.argv[1] if len(sys.argv) > 1 else ".").items():
        print(binary)
        for name, read in sorted(env.accepted.items()):
            mark = "required" if name in env.required else "optional"
            print(f"  {name:28} {mark:8} default={read.default!s:40} {read.where}")


if __name__ == "__main__":
    main()
