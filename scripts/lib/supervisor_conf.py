"""Writes the supervisord configuration of scripts/up, then reads it back with supervisor's own
parser and fails unless every program comes out exactly as meant (command, directory, log file,
environment). scripts/up runs it with the interpreter supervisord runs on, so that parser is
importable.

  supervisor_conf.py --conf FILE --socket FILE --run-dir DIR --root REPO
      [--program NAME --crate CRATE|- --dir DIR --log FILE --priority N
       [--set KEY=VALUE]... --cmd ARGV...]...

A program's environment is explicit, nothing of it comes from supervisord's own environment:
every variable its binary reads (settings.py: the binary's own `--print-settings`) that is set in this
process's environment, then the --set values on top. `--crate -` passes nothing through (the
broker). A value the configuration cannot carry (a newline, both kinds of quote, a quote at
either end, " ;" or " #", which supervisor's parser takes for a comment) is refused with the
variable's name, never its value: some are secrets. The file holds GATEWAY_JWT_SECRET, so it is
written with mode 600.
"""

import os
import pathlib
import re
import shlex
import sys
import tempfile

# No __pycache__ left in scripts/lib.
sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import settings  # noqa: E402

# What every program gets; see the header the file is written with.
PROGRAM_SETTINGS = """\
autostart=false
autorestart=true
startsecs={startsecs}
startretries=8
stopsignal=TERM
stopwaitsecs=15
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={log}
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=5"""

HEADER = """\
; Written by scripts/up on every run from its arguments and environment: edits here are lost.
; scripts/up starts the programs itself (autostart=false): the broker first, then the services,
; one instance of each replicated service at a time, then the gateway; from then on supervisord
; brings back whatever exits (autorestart=true): at once after a crash, with a growing pause
; (1 s, 2 s, ...) while it keeps exiting within startsecs, FATAL after startretries of those.
; Stopping: SIGTERM, up to stopwaitsecs for a graceful exit, then SIGKILL to the whole group.
; Each program's log is .run/logs/<program>.log, rotated at 10 MB, 5 kept.
"""

class Refused(Exception):
    pass


def fail(message):
    print(f"supervisor_conf.py: {message}", file=sys.stderr)
    sys.exit(1)


def parse_args(argv):
    opts, programs, i = {}, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--conf", "--socket", "--run-dir", "--root") and i + 1 < len(argv):
            opts[arg[2:]] = argv[i + 1]
            i += 2
        elif arg == "--program" and i + 1 < len(argv):
            programs.append({"name": argv[i + 1], "set": {}, "cmd": []})
            i += 2
        elif programs and arg in ("--crate", "--dir", "--log", "--priority") and i + 1 < len(argv):
            programs[-1][arg[2:]] = argv[i + 1]
            i += 2
        elif programs and arg == "--set" and i + 1 < len(argv) and "=" in argv[i + 1]:
            key, value = argv[i + 1].split("=", 1)
            programs[-1]["set"][key] = value
            i += 2
        elif programs and arg == "--cmd":
            i += 1
            while i < len(argv) and argv[i] != "--program":
                programs[-1]["cmd"].append(argv[i])
                i += 1
        else:
            fail(f"unexpected argument {arg!r} (see the usage at the top of this file)")
    for key in ("conf", "socket", "run-dir", "root"):
        if key not in opts:
            fail(f"--{key} is required")
    for program in programs:
        for key in ("crate", "dir", "log", "priority"):
            if key not in program:
                fail(f"program {program['name']}: --{key} is required")
        if not program["cmd"]:
            fail(f"program {program['name']}: --cmd is required")
    return opts, programs


def names_read(root):
    """{crate: set of variable names it reads}, from the binaries scripts/up just built."""
    return {binary: set(env.accepted) for binary, env in settings.scan(root).items()}


def environment_of(program, reads):
    crate = program["crate"]
    env = {}
    if crate != "-":
        for name, value in os.environ.items():
            # The OpenTelemetry SDK in every binary reads the standard OTEL_* settings itself
            # (OTEL_BSP_SCHEDULE_DELAY, ...) beyond the endpoint the binaries list.
            if name in reads.get(crate, ()) or name.startswith("OTEL_"):
                env[name] = value
    env.update(program["set"])
    return dict(sorted(env.items()))


def ini_value(value, what):
    """A value on an ini line as supervisor reads it: % doubled (its expansions), no comments."""
    if "\n" in value or "\r" in value:
        raise Refused(f"{what} contains a line break")
    if re.search(r"\s[;#]", value):
        raise Refused(f"{what} contains ' ;' or ' #', which supervisor reads as a comment")
    return value.replace("%", "%%")


def env_entry(name, value):
    what = f"{name} (program environment)"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise Refused(f"{name!r} is not a variable name supervisor accepts")
    # supervisor splits KEY="v",KEY2='v2' with a non-POSIX shlex (no escapes) and strips quotes
    # from both ends of each value.
    if value and (value[0] in "'\"" or value[-1] in "'\""):
        raise Refused(f"{what} starts or ends with a quote")
    if '"' not in value:
        quoted = f'"{value}"'
    elif "'" not in value:
        quoted = f"'{value}'"
    else:
        raise Refused(f"{what} contains both kinds of quote")
    return f"{name}={ini_value(quoted, what)}"


def render(opts, programs, reads):
    sock, run_dir = opts["socket"], opts["run-dir"]
    sup_dir = os.path.dirname(opts["conf"])
    lines = [
        HEADER,
        "[unix_http_server]",
        f"file={ini_value(sock, 'the socket path')}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={ini_value(os.path.join(sup_dir, 'supervisord.log'), 'the log path')}",
        "logfile_maxbytes=10MB",
        "logfile_backups=5",
        "loglevel=info",
        f"pidfile={ini_value(os.path.join(sup_dir, 'supervisord.pid'), 'the pid file path')}",
        f"directory={ini_value(run_dir, 'the run directory')}",
        # tansu colours its log lines; the services honour NO_COLOR.
        "strip_ansi=true",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{ini_value(sock, 'the socket path')}",
    ]
    expected = {}
    for program in programs:
        name = program["name"]
        env = environment_of(program, reads)
        expected[name] = (program, env)
        command = " ".join(shlex.quote(arg) for arg in program["cmd"])
        # The broker listens within milliseconds; the services need a moment for PostgreSQL.
        startsecs = 2 if program["crate"] == "-" else 3
        lines += [
            "",
            f"[program:{name}]",
            f"command={ini_value(command, f'the command of {name}')}",
            f"directory={ini_value(program['dir'], f'the directory of {name}')}",
            f"priority={int(program['priority'])}",
            PROGRAM_SETTINGS.format(
                startsecs=startsecs, log=ini_value(program["log"], f"the log path of {name}")
            ),
        ]
        if env:
            entries = [env_entry(key, value) for key, value in env.items()]
            lines.append("environment=\n    " + ",\n    ".join(entries))
    return "\n".join(lines) + "\n", expected


def write_checked(path, text, expected):
    """Writes a new file beside `path`, reads it back, and only then puts it in place."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".supervisord.conf.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        read_back(tmp, expected)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_back(path, expected):
    """Parses the file as supervisord will and compares every program with what was meant."""
    try:
        from supervisor.options import ServerOptions
    except ImportError:
        fail(f"{sys.executable} cannot import supervisor: run this with supervisord's interpreter")
    options = ServerOptions()
    options.configfile = path
    try:
        section = options.read_config(path)
    except ValueError as err:
        fail(f"supervisord would not read {path}: {err}")
    got = {}
    for group in section.process_group_configs:
        for process in group.process_configs:
            got[process.name] = process
    if set(got) != set(expected):
        fail(f"{path} defines {sorted(got)}, meant {sorted(expected)}")
    for name, (program, env) in expected.items():
        process = got[name]
        problems = []
        if shlex.split(process.command) != program["cmd"]:
            problems.append("its command")
        if process.directory != program["dir"]:
            problems.append("its directory")
        if process.stdout_logfile != program["log"]:
            problems.append("its log file")
        if (process.environment or {}) != env:
            differ = sorted(k for k in set(env) | set(process.environment or {})
                            if env.get(k) != (process.environment or {}).get(k))
            problems.append(f"its environment ({', '.join(differ)})")
        if problems:
            fail(f"{path} does not read back as meant for {name}: {'; '.join(problems)}")


def main():
    opts, programs = parse_args(sys.argv[1:])
    reads = names_read(opts["root"]) if any(p["crate"] != "-" for p in programs) else {}
    try:
        text, expected = render(opts, programs, reads)
    except Refused as err:
        fail(f"cannot write the supervisord configuration: {err}")
    write_checked(opts["conf"], text, expected)


if __name__ == "__main__":
    main()
