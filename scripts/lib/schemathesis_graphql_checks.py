"""schemathesis checks for the GraphQL endpoint, loaded with SCHEMATHESIS_HOOKS.

A GraphQL server answers 200 with `errors` for a bad argument as much as for a broken resolver.
schemathesis' `not_a_server_error` counts every resolver error as a server error (ST113), our
`INVALID_ARGUMENT` for `id: ""` included, so it cannot tell a refusal from a failure. This check
counts only real server errors: a 5xx, or a GraphQL error whose code says the server failed
(`INTERNAL`). The refusals of generated garbage (`INVALID_ARGUMENT`, `NOT_FOUND`, the query
limits' codes, validation errors) are the answers we want.
"""

import schemathesis

SERVER_FAILURES = {"INTERNAL", "INTERNAL_SERVER_ERROR"}


@schemathesis.check
def no_internal_graphql_error(ctx, response, case):
    """No 5xx, and no GraphQL error in the response says the server itself failed."""
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - not JSON: not_a_server_error and the status judge it
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = ((error or {}).get("extensions") or {}).get("code")
        if code in SERVER_FAILURES:
            raise AssertionError(f"GraphQL error {code}: {error.get('message')}")
    return None
