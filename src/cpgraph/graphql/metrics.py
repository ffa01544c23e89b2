"""Prometheus metrics of one API app (own registry, so apps never clash in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ApiMetrics:
    """Request, error, auth and audit counters; no labels carry personal data."""

    def __init__(self) -> None:
        """Create the metrics in a fresh registry."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "cpgraph_http_requests_total",
            "HTTP requests.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cpgraph_http_request_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.graphql_errors = Counter(
            "cpgraph_graphql_errors_total",
            "GraphQL errors by code.",
            ["code"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "cpgraph_auth_failures_total",
            "Requests without a valid token.",
            registry=self.registry,
        )
        self.audit_entries = Counter(
            "cpgraph_audit_entries_total", "Audit entries written.", registry=self.registry
        )
        self.timeouts = Counter(
            "cpgraph_request_timeouts_total",
            "Requests cut off by the timeout.",
            registry=self.registry,
        )
