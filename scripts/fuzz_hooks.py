"""schemathesis hooks for scripts/fuzz-api.

The fuzzer authenticates as the dev server's super-admin key. Disabling, rotating or revoking
that key (its id shows up in every list) would end its token, and the rest of the run would test
nothing but 401s; so no generated request names that key. Every other key is fair game.
"""
import os

import schemathesis

ADMIN_ID = os.environ["KEYWARD_FUZZ_ADMIN_ID"]


@schemathesis.hook
def filter_path_parameters(context, path_parameters):
    return (path_parameters or {}).get("id") != ADMIN_ID


CLIENT_KEY = os.environ.get("KEYWARD_FUZZ_CLIENT")


@schemathesis.hook
def map_headers(context, headers):
    """Forward auth asks about a real client key (a random one only ever answers 401); the rest
    of each request (what is needed, the client's address) stays generated."""
    if CLIENT_KEY and context.operation.path == "/v1/authz":
        headers = dict(headers or {})
        headers["X-API-Key"] = CLIENT_KEY
    return headers


@schemathesis.check
def every_error_is_a_problem(ctx, response, case):
    """Every 4xx and 5xx answer is RFC 9457 problem+json with a `code`, whatever provoked it
    (methods and paths the document does not list included)."""
    if response.status_code < 400:
        return None
    values = [v for k, v in response.headers.items() if k.lower() == "content-type"]
    content_type = values[0][0] if values and values[0] else ""
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(f"a {response.status_code} answer is {content_type!r}, not problem+json")
    body = response.json()
    if not isinstance(body, dict) or not body.get("code") or body.get("status") != response.status_code:
        raise AssertionError(f"a {response.status_code} problem lacks its code or status: {body!r}")
    return None
