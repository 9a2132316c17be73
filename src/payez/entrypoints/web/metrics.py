"""Prometheus ``/metrics``: read from the database at each scrape, so every process (web or
worker) reports the same figures and nothing needs to be pushed."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from payez.domain.payments import PaymentState
from payez.service.context import ServiceContext
from payez.service.health_figures import health_figures


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


def metrics_routes(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PayezCollector(ctx))

    @router.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
