# shellcheck shell=bash
#
# Development tokens: the HS256 secret the gateway checks bearer tokens with, made once per
# machine and kept out of the repository, and tokens signed with it. Source after common.sh.
#
#   ensure_jwt_secret          makes the secret file when missing (mode 600)
#   jwt_secret                 prints GATEWAY_JWT_SECRET, else the machine's secret
#   mint_token ROLE SUB [TTL]  prints a signed token (TTL in seconds, default 12 hours)
#
# Production gateways take tokens from an identity provider (GATEWAY_JWKS_URL) instead.

# One per machine, like the tools: every clone and every `scripts/up` on it agree.
JWT_SECRET_FILE="$MESH_TOOLS_DIR/jwt-secret"

_make_jwt_secret() {
    [[ -s $JWT_SECRET_FILE ]] && return 0
    mkdir -p "$(dirname "$JWT_SECRET_FILE")"
    (
        umask 077
        python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$JWT_SECRET_FILE"
    )
    log "made a development JWT secret in $JWT_SECRET_FILE"
}

ensure_jwt_secret() {
    [[ -n ${GATEWAY_JWT_SECRET:-} ]] && return 0
    with_tool_lock jwt-secret _make_jwt_secret
}

jwt_secret() {
    if [[ -n ${GATEWAY_JWT_SECRET:-} ]]; then
        printf '%s\n' "$GATEWAY_JWT_SECRET"
    else
        ensure_jwt_secret
        cat "$JWT_SECRET_FILE"
    fi
}

# The roles the gateway knows, and the subject each gets when none is named.
default_subject() {
    case $1 in
    customer) echo c-1 ;;
    courier) echo k-1 ;;
    admin) echo admin ;;
    *) die "unknown role '$1' (customer, courier or admin)" ;;
    esac
}

mint_token() {
    local role=$1 subject=${2:-} ttl=${3:-43200}
    [[ -n $subject ]] || subject=$(default_subject "$role")
    default_subject "$role" >/dev/null
    # The secret goes through the environment, never the command line (ps shows that).
    MESH_JWT_SECRET=$(jwt_secret) python3 - "$role" "$subject" "$ttl" <<'PY'
import base64, hashlib, hmac, json, os, sys, time

role, subject, ttl = sys.argv[1], sys.argv[2], int(sys.argv[3])
def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
claims = b64(json.dumps({"sub": subject, "roles": [role], "iat": now, "exp": now + ttl},
                        separators=(",", ":")).encode())
signing_input = f"{header}.{claims}".encode()
key = os.environ["MESH_JWT_SECRET"].encode()
signature = b64(hmac.new(key, signing_input, hashlib.sha256).digest())
print(f"{header}.{claims}.{signature}")
PY
}
