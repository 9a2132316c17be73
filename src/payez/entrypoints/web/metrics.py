"""Prometheus ``/metrics``: read from the database at each scrape, so every process (web or
worker) reports the same figures and nothing needs to be pushed."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from payez.domain.payments import PaymentState
from payez.service.context import ServiceContext
from payez.service.health_figures import health_figures
from payez.service.reply_budgets import budget_figures, replies_held_back


class PayezCollector(Collector):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = health_figures(self.ctx)
        payments = GaugeMetricFamily("payez_payments", "Payments by state.", labels=["state"])
        for state in PaymentState:
            payments.add_metric([state.value], figures.payments_by_state.get(state.value, 0))
        yield payments
        outbox = GaugeMetricFamily(
            "payez_outbox_messages", "Outbox messages by state.", labels=["state"]
        )
        for outbox_state in sorted({"pending", "sent", *figures.outbox_by_state}):
            outbox.add_metric([outbox_state], figures.outbox_by_state.get(outbox_state, 0))
        yield outbox
        yield GaugeMetricFamily(
            "payez_outbox_depth",
            "Messages waiting to be sent.",
            value=figures.outbox_by_state.get("pending", 0),
        )
        yield GaugeMetricFamily(
            "payez_inbox_backlog", "Recorded posts not yet processed.", value=figures.inbox_backlog
        )
        latency = GaugeMetricFamily(
            "payez_processing_latency_seconds",
            "Seconds from a post being seen to its payment being decided (latest decisions).",
            labels=["quantile"],
        )
        latency.add_metric(["0.5"], figures.latency_p50_seconds)
        latency.add_metric(["1"], figures.latency_max_seconds)
        yield latency
        lag = GaugeMetricFamily(
            "payez_listener_lag_seconds",
            "Seconds from a post being written to the listener recording it (latest posts).",
            labels=["quantile"],
        )
        lag.add_metric(["0.5"], figures.listener_lag_p50_seconds)
        lag.add_metric(["1"], figures.listener_lag_max_seconds)
        yield lag
        yield from self._reply_budgets()

    def _reply_budgets(self) -> Iterator[GaugeMetricFamily]:
        networks = sorted(self.ctx.networks)
        left = GaugeMetricFamily(
            "payez_reply_budget_remaining",
            "Points the service account may still post in each window of a network's budget.",
            labels=["network", "window"],
        )
        limit = GaugeMetricFamily(
            "payez_reply_budget_limit",
            "Points each window of a network's reply budget allows.",
            labels=["network", "window"],
        )
        for figure in budget_figures(self.ctx, networks):
            left.add_metric([figure.network, figure.window], figure.remaining)
            limit.add_metric([figure.network, figure.window], figure.limit)
        yield left
        yield limit
        waiting, told = replies_held_back(self.ctx)
        deferred = GaugeMetricFamily(
            "payez_replies_deferred",
            "Replies waiting for room in their network's budget.",
            labels=["network"],
        )
        downgraded = GaugeMetricFamily(
            "payez_replies_downgraded",
            "Acknowledgements told in the app instead of posted, the budget being short.",
            labels=["network"],
        )
        for network in networks:
            deferred.add_metric([network], waiting.get(network, 0))
            downgraded.add_metric([network], told.get(network, 0))
        yield deferred
        yield downgraded


def metrics_routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PayezCollector(ctx))

    token = ctx.settings.metrics_token
    served = bool(token) or ctx.settings.environment != "production"
    expected = f"Bearer {token}".encode()

    @router.get("/metrics")
    def metrics(request: Request) -> Response:
        # Scrapers read plain text, not pages.
        if not served:
            return PlainTextResponse("metrics are off: set PAYEZ_METRICS_TOKEN\n", 404)
        sent = request.headers.get("authorization", "").encode()
        if token and not hmac.compare_digest(sent, expected):
            return PlainTextResponse(
                "metrics need the bearer token\n", 401, headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
