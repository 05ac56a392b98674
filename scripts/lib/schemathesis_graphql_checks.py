"""schemathesis checks for the GraphQL endpoint, loaded with SCHEMATHESIS_HOOKS.

A GraphQL server answers 200 with `errors` for a bad query as much as for a broken resolver, so
schemathesis' `not_a_server_error` alone sees only crashes that reach HTTP (a 5xx). This check
also fails a response whose GraphQL errors say the server failed (`INTERNAL`), while the refusals
of bad input (`INVALID_ARGUMENT`, the query limits' codes, validation errors) pass: those are the
answers we want for generated garbage.
"""

import schemathesis

SERVER_FAILURES = {"INTERNAL", "INTERNAL_SERVER_ERROR"}


@schemathesis.check
def no_internal_graphql_error(ctx, response, case):
    """No GraphQL error in the response says the server itself failed."""
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
