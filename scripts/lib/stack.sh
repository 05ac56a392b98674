# shellcheck shell=bash
#
# A whole mesh for checks that need one running (newman, schemathesis, the browser checks):
# the five services and the gateway from target/debug, on free ports, each service on a
# database of its own (test_<service>_stack_<id>) and the mesh on Kafka topics and groups of
# its own (KAFKA_TOPIC_PREFIX), so it runs beside the stacks `cargo test` builds. Source it
# after common.sh and tokens.sh; it runs nothing by itself.
#
#   start_test_stack <state dir> <log dir> [<cert dir>]
#       starts it; sets STACK_URL (the gateway's base URL). With a cert dir (scripts/certs
#       --dir), everything speaks TLS: the gateway HTTPS, the services mutual TLS.
#   stop_test_stack <state dir>              stops what start_test_stack started
#
# The gateway checks tokens with the machine's development secret (scripts/token signs with
# it), hands them out at /auth/dev-token, and has no rate limit: the checks are not load.

# shellcheck disable=SC2034  # STACK_URL is for the scripts that source this file
STACK_URL=""

start_test_stack() {
    local state=$1 logs=$2 certs=${3:-} id svc prefix port name scheme=http
    id=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
    mkdir -p "$state" "$logs"
    [[ -z $certs ]] || scheme=https
    echo "$scheme" >"$state/scheme"
    # Everything below is for the stack's programs only: a subshell keeps the caller's env.
    (
        export KAFKA_TOPIC_PREFIX="stack${id}-" NO_COLOR=1 PG_URL GATEWAY_JWT_SECRET
        PG_URL=$(pg_url)
        GATEWAY_JWT_SECRET=$(jwt_secret)
        export GATEWAY_RATE_LIMIT_PER_SECOND=0 GATEWAY_DEV_LOGIN=true
        for svc in "${MESH_SERVICES[@]}"; do
            prefix=$(service_prefix "$svc")
            port=$(free_port)
            # By name under TLS: the certificates name localhost, not an address.
            export "${prefix}_ADDR=127.0.0.1:$port" "${prefix}_URL=$scheme://localhost:$port"
            export "${prefix}_DB_NAME=test_${svc%-service}_stack_${id}"
            echo "$port" >"$state/$svc.port"
        done
        port=$(free_port)
        export GATEWAY_ADDR="127.0.0.1:$port" GATEWAY_ASSETS_DIR GATEWAY_APP_DIR
        GATEWAY_ASSETS_DIR=$(web_assets_dir)
        GATEWAY_APP_DIR=$(app_dist_dir)
        echo "$port" >"$state/gateway.port"
        if [[ -n $certs ]]; then
            export GRPC_TLS_CA="$certs/ca.pem" GRPC_TLS_REQUIRE_CLIENT_CERT=true
            export GATEWAY_TLS_CERT="$certs/gateway.pem" GATEWAY_TLS_KEY="$certs/gateway-key.pem"
        fi
        for name in "${MESH_SERVICES[@]}" gateway; do
            [[ -x $MESH_TARGET_DIR/debug/$name ]] || die "target/debug/$name is missing (build first)"
            # Each program shows (and serves with) its own certificate.
            if [[ -n $certs ]]; then
                export GRPC_TLS_CERT="$certs/$name.pem" GRPC_TLS_KEY="$certs/$name-key.pem"
            fi
            start_background "$name" "$state/$name.pid" "$logs/stack-$name.log" "$MESH_ROOT" \
                "$MESH_TARGET_DIR/debug/$name"
        done
    )
    STACK_URL=$(stack_url "$state")
    STACK_CURL_ARGS=()
    [[ -z $certs ]] || STACK_CURL_ARGS=(--cacert "$certs/ca.pem")
    log "test stack starting: gateway $STACK_URL, logs $logs/stack-*.log"
    wait_for_stack "$state" "$logs"
}

# Extra curl arguments for the stack's URL (the CA under TLS), set by start_test_stack.
STACK_CURL_ARGS=()

# Waits until the gateway's /readyz says "ready" (every backend serves, the feed is live or
# resting), failing with the logs of whatever died. Its status code is not enough: a gateway
# with one backend down answers 200 too, with "status": "degraded".
wait_for_stack() {
    local state=$1 logs=$2 name deadline=$((SECONDS + 180))
    while ((SECONDS < deadline)); do
        for name in "${MESH_SERVICES[@]}" gateway; do
            if ! live_pid "$state/$name.pid" "$name" >/dev/null; then
                show_log_tail "$logs/stack-$name.log" 30
                die "the test stack's $name exited during start-up"
            fi
        done
        if curl -fsS --max-time 2 "${STACK_CURL_ARGS[@]}" "$STACK_URL/readyz" 2>/dev/null |
            jq -en 'input.status == "ready"' >/dev/null 2>&1; then
            log "test stack ready"
            return 0
        fi
        sleep 0.5
    done
    curl -sS --max-time 2 "${STACK_CURL_ARGS[@]}" "$STACK_URL/readyz" >&2 || true
    show_log_tail "$logs/stack-gateway.log" 30
    die "the test stack was not ready within 180 s"
}

stop_test_stack() {
    local state=$1 name
    [[ -d $state ]] || return 0
    for name in gateway "${MESH_SERVICES[@]}"; do
        stop_process "$state/$name.pid" "$name"
    done
}

# The gateway URL of the stack in <state dir>, for steps that run in a subshell of their own.
stack_url() {
    local scheme
    scheme=$(cat "$1/scheme" 2>/dev/null || echo http)
    # Under TLS by name: the certificate names localhost.
    if [[ $scheme == https ]]; then
        printf 'https://localhost:%s\n' "$(cat "$1/gateway.port")"
    else
        printf 'http://127.0.0.1:%s\n' "$(cat "$1/gateway.port")"
    fi
}
