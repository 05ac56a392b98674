# shellcheck shell=bash
#
# The supervisord that runs scripts/up's programs, for scripts/up, scripts/down and
# scripts/status. Source it after common.sh; it defines functions and variables only.
#
# Its files live in .run/supervisor/ (mode 700): supervisord.conf (written by scripts/up, holds
# the programs' environment, the token secret among it), the control socket supervisor.sock (no
# TCP port), supervisord.pid, supervisord.log (its own log: spawns, exits, give-ups) and
# gateway (the gateway's URL and CA, for scripts/status). The programs log to .run/logs/.

SUPERVISOR_DIR="$MESH_RUN_DIR/supervisor"
SUPERVISOR_CONF="$SUPERVISOR_DIR/supervisord.conf"
SUPERVISOR_SOCK="$SUPERVISOR_DIR/supervisor.sock"
# shellcheck disable=SC2034  # used by the scripts that source this file
SUPERVISOR_PIDFILE="$SUPERVISOR_DIR/supervisord.pid"
# shellcheck disable=SC2034
SUPERVISOR_LOG="$SUPERVISOR_DIR/supervisord.log"
# shellcheck disable=SC2034
SUPERVISOR_GATEWAY_FILE="$SUPERVISOR_DIR/gateway"
# The pid files of the scripts/up from before supervisord (and of a stack it left running).
OLD_PID_DIR="$MESH_RUN_DIR/pids"

# supervisorctl against our supervisord, whatever /etc/supervisor says.
mesh_ctl() {
    if [[ -f $SUPERVISOR_CONF ]]; then
        supervisorctl -c "$SUPERVISOR_CONF" -s "unix://$SUPERVISOR_SOCK" "$@"
    else
        supervisorctl -s "unix://$SUPERVISOR_SOCK" "$@"
    fi
}

# Prints the pid of our supervisord when it answers on its socket.
supervisord_pid() {
    local pid
    [[ -S $SUPERVISOR_SOCK ]] || return 1
    pid=$(mesh_ctl pid 2>/dev/null) || true
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

# One line per program: "<name> <STATE> <pid or -> <uptime or ->" (uptime like 0:05:12, or
# "1 day, 0:05:12", so it is the rest of the line).
program_states() {
    local name state rest pid uptime
    # status exits 3 when some program is not RUNNING: only the output matters.
    while read -r name state rest; do
        [[ -n $name && $state =~ ^[A-Z]+$ ]] || continue
        pid=- uptime=-
        if [[ $rest =~ ^pid\ ([0-9]+),\ uptime\ (.*)$ ]]; then
            pid=${BASH_REMATCH[1]} uptime=${BASH_REMATCH[2]}
        fi
        printf '%s %s %s %s\n' "$name" "$state" "$pid" "$uptime"
    done < <(mesh_ctl status 2>/dev/null || true)
}

# The state of one program ("" when supervisord does not know it).
program_state() {
    local name state _
    while read -r name state _; do
        [[ $name == "$1" ]] && printf '%s\n' "$state" && return 0
    done < <(program_states)
    return 0
}

# Pids of processes that our supervisord started (also once it is gone): supervisord puts its
# socket's URL into every child's environment. Precise, never by a program's name.
supervised_pids() {
    local environ pid
    # grep -z reads each NUL-separated variable as a line.
    while IFS= read -r environ; do
        pid=${environ#/proc/}
        printf '%s\n' "${pid%/environ}"
    done < <(grep -lzxF -- "SUPERVISOR_SERVER_URL=unix://$SUPERVISOR_SOCK" /proc/[0-9]*/environ 2>/dev/null || true)
}

# True when .run/pids holds a pid file of a process that still runs (a stack started by the
# scripts/up from before supervisord).
old_stack_runs() {
    local pidfile name
    for pidfile in "$OLD_PID_DIR"/*.pid; do
        [[ -e $pidfile ]] || continue
        name=$(basename "$pidfile" .pid)
        live_pid "$pidfile" "$name" >/dev/null && return 0
    done
    return 1
}

# Stops such a stack: clients before servers, the broker last, each by its pid file (never by
# name); stale pid files go too. Pid files of other names are left alone, with a warning.
stop_old_stack() {
    local name i order=(gateway)
    [[ -d $OLD_PID_DIR ]] || return 0
    for ((i = ${#MESH_SERVICES[@]} - 1; i >= 0; i--)); do
        order+=("${MESH_SERVICES[i]}")
    done
    order+=(tansu)
    for name in "${order[@]}"; do
        stop_process "$OLD_PID_DIR/$name.pid" "$name"
    done
    local leftover
    for leftover in "$OLD_PID_DIR"/*.pid; do
        [[ -e $leftover ]] && warn "left alone: unknown pid file $leftover"
    done
    rmdir "$OLD_PID_DIR" 2>/dev/null || true
}

# Stops one process by pid: SIGTERM, up to 15 s for a graceful exit, then SIGKILL.
stop_pid() {
    local pid=$1 i what
    what=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
    log "stopping pid $pid (${what% })"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        pid_running "$pid" || return 0
        sleep 0.1
    done
    warn "pid $pid did not stop within 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# Stops what a supervisord of ours started and that outlived it (supervisord was killed): the
# gateway first, the broker last, as supervisord itself would.
stop_orphans() {
    local pid name first=() middle=() last=()
    for pid in $(supervised_pids); do
        name=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^SUPERVISOR_PROCESS_NAME=//p')
        case $name in
        gateway) first+=("$pid") ;;
        tansu) last+=("$pid") ;;
        *) middle+=("$pid") ;;
        esac
    done
    for pid in "${first[@]}" "${middle[@]}" "${last[@]}"; do
        stop_pid "$pid"
    done
}
