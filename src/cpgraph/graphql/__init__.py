"""The GraphQL API: schema, types, resolvers, DataLoaders and field permissions."""

from __future__ import annotations

from cpgraph.graphql.schema import build_schema, schema_sdl

__all__ = ["build_schema", "schema_sdl"]
