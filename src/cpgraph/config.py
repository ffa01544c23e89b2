"""Configuration: one `Settings` class, read from `CPGRAPH_*` and `NEO4J_*` environment."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cpgraph.errors import ConfigError


class Backend(StrEnum):
    """Graph store backends."""

    FALKORDB = "falkordb"
    NEO4J = "neo4j"


class Environment(StrEnum):
    """Deployment environment; `dev` enables GraphiQL."""

    DEV = "dev"
    PROD = "prod"
    TEST = "test"


class LinkEngine(StrEnum):
    """Where `cpgraph link` scores candidate pairs."""

    LOCAL = "local"
    DASK = "dask"


class Settings(BaseSettings):
    """Every setting cpgraph reads. Secrets come only from the environment."""

    # hide_input_in_errors: a rejected value (a short key, a password) is never echoed.
    model_config = SettingsConfigDict(
        env_prefix="CPGRAPH_",
        env_file=None,
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    backend: Backend = Field(default=Backend.FALKORDB, description="Graph store backend.")
    env: Environment = Field(default=Environment.PROD, description="dev enables GraphiQL.")
    data_dir: Path = Field(
        default=Path("./data"), description="Embedded store data (FalkorDB files, lock)."
    )
    falkordb_url: str | None = Field(
        default=None,
        description="Use a running FalkorDB server (redis://host:port) instead of embedding one.",
    )
    graph_name: str = Field(default="cpgraph", description="FalkorDB graph key.")
    neo4j_uri: str = Field(
        default="bolt://localhost:7687",
        validation_alias=AliasChoices("NEO4J_URI", "CPGRAPH_NEO4J_URI"),
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "CPGRAPH_NEO4J_USER")
    )
    neo4j_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NEO4J_PASSWORD", "CPGRAPH_NEO4J_PASSWORD"),
    )
    neo4j_database: str = Field(
        default="neo4j",
        validation_alias=AliasChoices("NEO4J_DATABASE", "CPGRAPH_NEO4J_DATABASE"),
    )
    batch_size: int = Field(default=5000, ge=1, le=100_000, description="Rows per UNWIND write.")
    link_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description=(
            "`cpgraph link`: string-comparison threads; with 2 or more a large run also "
            "trains and scores in a forked process alongside."
        ),
    )
    link_memory_mb: int = Field(
        default=3000,
        ge=0,
        le=1_048_576,
        description=(
            "`cpgraph link`: memory budget of the local engine, forked processes included "
            "(MB; 0: none). A fork starts only when even a full copy of the process fits "
            "in it; otherwise its work runs in the process (slower, within budget)."
        ),
    )
    # the distributed linkage engine (docs/distributed.md)
    link_engine: LinkEngine = Field(
        default=LinkEngine.LOCAL,
        description="`cpgraph link` engine: local (this process) or dask (a Dask cluster).",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description=(
            "Dask scheduler address (tcp://host:8786) for --engine dask; unset: a local "
            "cluster of dask_workers processes is started for the run."
        ),
    )
    dask_workers: int = Field(default=2, ge=1, le=256, description="Local Dask workers.")
    dask_threads: int = Field(default=1, ge=1, le=64, description="Threads per local worker.")
    dask_partitions: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="Partitions per blocking pass (and pair buckets); 0: twice the threads.",
    )
    dask_work_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of a Dask run's Parquet tables, readable by every worker (shared "
            "storage on a real cluster); unset: <data_dir>/linkage/dask."
        ),
    )
    query_timeout_s: float = Field(default=30.0, gt=0, description="Per-query timeout.")
    store_start_timeout_s: float = Field(
        # a 1M-mention store takes ~40 s to load its append-only file on two cores
        default=180.0,
        gt=0,
        description="How long to wait for the embedded store to start.",
    )
    store_hang_timeout_s: float = Field(
        # far beyond the longest write that holds FalkorDB's main thread (a bulk batch,
        # a large UNWIND: seconds), so only a server that will never answer is killed
        default=300.0,
        ge=0,
        description=(
            "How long the embedded store may live without answering anything before its "
            "supervisor kills and restarts it; 0: never."
        ),
    )
    host: str = Field(default="127.0.0.1", description="API bind address.")
    port: int = Field(default=8000, ge=1, le=65535, description="API port.")
    log_level: str = Field(default="INFO", description="Log level.")
    api_max_depth: int = Field(default=12, ge=2, le=50, description="GraphQL query depth limit.")
    api_max_aliases: int = Field(default=15, ge=1, le=200, description="GraphQL alias limit.")
    api_max_tokens: int = Field(default=2000, ge=50, le=100_000, description="GraphQL token limit.")
    api_max_page_size: int = Field(default=100, ge=1, le=1000, description="Page-size cap.")
    api_max_network_nodes: int = Field(default=500, ge=10, le=10_000, description="Network cap.")
    api_max_network_depth: int = Field(default=3, ge=1, le=3, description="Network depth cap.")
    api_request_timeout_s: float = Field(default=10.0, gt=0, description="Request timeout.")
    api_max_query_cost: int = Field(
        default=100_000,
        ge=0,
        description="Estimated cost budget of one GraphQL request (docs/api.md); 0 = off.",
    )
    api_rate_limit_per_s: float = Field(
        default=20.0,
        ge=0,
        description="GraphQL requests per second per bearer token, per process; 0 = off.",
    )
    api_rate_limit_burst: int = Field(
        default=40, ge=1, le=100_000, description="Requests a token may send at once."
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest GraphQL request body (413 beyond).",
    )
    token_expiry_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description=(
            "Default lifetime of an API token in days (`cpgraph users add/rotate` without "
            "--expires-in-days; also the lifetime of tokens made before expiry existed, "
            "counted from their creation)."
        ),
    )
    audit_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description=(
            "Key of the audit chain's HMAC (CPGRAPH_AUDIT_KEY, at least 32 characters). "
            "Unset: a random key is kept in `<data_dir>/audit.key` (0600), made on first use. "
            "Never stored in the graph."
        ),
    )

    @field_validator("graph_name")
    @classmethod
    def _graph_name_safe(cls, value: str) -> str:
        if not value.replace("_", "").replace("-", "").isalnum():
            raise ValueError("graph_name must be letters, digits, '-' or '_'")
        return value

    @field_validator("falkordb_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("falkordb_url must start with redis://, rediss:// or unix://")
        return value or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once from the environment)."""
    return Settings()


def load_settings() -> Settings:
    """Read settings, turning validation problems into a one-line ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
