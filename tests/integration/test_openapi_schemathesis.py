"""The JSON API against its own OpenAPI spec: schemathesis generates requests for every
operation, anonymous and logged in, and none may end in a server error (5xx).

Each operation gets a bounded number of generated examples, so the whole run stays well under a
minute on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from payez.adapters.db import web_accounts
from payez.domain.money import Money
from payez.entrypoints.web.app import create_app
from payez.entrypoints.web.auth import SESSION_COOKIE
from payez.service.load_wallet import load_wallet
from payez.service.sign_up import sign_up
from payez.service.web_sessions import open_session
from tests.integration.pipeline_world import World

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def app_and_session(sqlite_url: str) -> Iterator[tuple[FastAPI, str]]:
    world = World.create(sqlite_url)
    world.join("bob")
    user_id = sign_up(
        world.ctx,
        email="alice@example.org",
        password="correct horse battery",
        display_name="Alice",
        language="fr",
    )
    with world.ctx.engine.begin() as conn:
        web_accounts.update_user(conn, user_id, identity_verified=True)
        load_wallet(conn, user_id, Money.eur(10_000), "load:alice")
    world.post("bob", "@payez envoie 5 € à @bob")
    world.run()
    yield create_app(world.ctx), open_session(world.ctx, user_id)
    world.ctx.engine.dispose()


def test_no_generated_request_ends_in_a_server_error(
    app_and_session: tuple[FastAPI, str],
) -> None:
    app, session = app_and_session
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == "/api/v1/me/payments" for op in operations)
    # Valid requests, and, where an operation takes parameters, requests that break the spec
    # (wrong types, out-of-range values).
    strategies = [operation.as_strategy() for operation in operations] + [
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
        for operation in operations
        if len(operation.path_parameters) or len(operation.query)
    ]
    for strategy in strategies:

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: schemathesis.Case) -> None:
            # Anonymous and logged in: both paths through every route must hold.
            case.validate_response(case.call(), checks=[not_a_server_error])
            logged_in = case.call(cookies={SESSION_COOKIE: session})
            case.validate_response(logged_in, checks=[not_a_server_error])

        check()
