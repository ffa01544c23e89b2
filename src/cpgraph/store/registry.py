"""The Cypher registry: every statement lives in a named file under `cypher/`.

Files are loaded once, by name, when a store is created. Shared (portable)
statements sit at the top of `cypher/`; dialect-specific ones under
`cypher/<dialect>/`. A dialect-specific name must exist for every dialect, so a
query can never be missing on one backend only. Asking for an unknown name, or
calling a query with parameters other than the ones it uses, raises at once.

Files named `ddl_*` are schema statements that `bootstrap()` runs in name
order; `admin_*` files are maintenance statements of one engine. Both kinds
exist only per dialect. A file may start with `// mode: write` (default `read`), which decides the
transaction type on Neo4j and `GRAPH.QUERY` versus `GRAPH.RO_QUERY` on FalkorDB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cpgraph.errors import RegistryError, UnknownQueryError

DIALECTS: tuple[str, ...] = ("falkordb", "neo4j")
DDL_PREFIX = "ddl_"
ADMIN_PREFIX = "admin_"
_DIALECT_ONLY = (DDL_PREFIX, ADMIN_PREFIX)

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MODE_RE = re.compile(r"^\s*//\s*mode:\s*(read|write)\s*$", re.MULTILINE)
# Strings and comments are blanked before looking for $params so that a `$`
# inside a literal or a comment is not taken for a parameter.
_STRING_OR_COMMENT_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|//[^\n]*")
_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def default_cypher_dir() -> Path:
    """Return the `cypher/` folder shipped with cpgraph.

    In a source checkout it is the repository's top-level `cypher/`; an
    installed wheel carries a copy inside the package.
    """
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "cypher", here.parents[1] / "cypher"):
        if candidate.is_dir():
            return candidate
    raise RegistryError("cannot find the cypher/ query folder")


def strip_literals(text: str) -> str:
    """Blank string literals and `//` comments (keeps offsets roughly stable)."""
    return _STRING_OR_COMMENT_RE.sub(lambda m: " " * len(m.group(0)), text)


def params_of(text: str) -> frozenset[str]:
    """Return the `$parameter` names a Cypher text uses."""
    return frozenset(_PARAM_RE.findall(strip_literals(text)))


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """One Cypher statement loaded from a file.

    Attributes:
        name: registry name (the file stem).
        text: the Cypher text.
        params: the `$parameters` the text uses.
        mode: `read` or `write`.
        path: where it was loaded from.
        shared: True when it is a portable top-level file.
    """

    name: str
    text: str
    params: frozenset[str]
    mode: Literal["read", "write"]
    path: Path
    shared: bool


class QueryRegistry:
    """Named Cypher statements for one dialect."""

    def __init__(
        self, dialect: str, cypher_dir: Path | None = None, extra_dirs: Sequence[Path] = ()
    ) -> None:
        """Load every query for `dialect`.

        Args:
            dialect: `falkordb` or `neo4j`.
            cypher_dir: the `cypher/` folder (default: the shipped one).
            extra_dirs: further folders of shared (portable) queries, e.g. a test suite's
                own; a name that is already taken is an error.

        Raises:
            RegistryError: a file is malformed, a name is defined twice, or a
                dialect-specific name is missing for another dialect.
        """
        if dialect not in DIALECTS:
            raise RegistryError(f"unknown Cypher dialect {dialect!r}")
        self.dialect = dialect
        self.cypher_dir = cypher_dir or default_cypher_dir()
        self._queries: dict[str, NamedQuery] = {}
        shared = self._load_dir(self.cypher_dir, shared=True)
        for folder in extra_dirs:
            extra = self._load_dir(folder, shared=True)
            taken = shared.keys() & extra.keys()
            if taken:
                raise RegistryError(f"{folder}: names already defined: {sorted(taken)}")
            shared.update(extra)
        per_dialect = {d: self._load_dir(self.cypher_dir / d, shared=False) for d in DIALECTS}
        for d, queries in per_dialect.items():
            clash = shared.keys() & queries.keys()
            if clash:
                raise RegistryError(f"{d}: names both shared and dialect-specific: {sorted(clash)}")
        # DDL and maintenance differ in kind between engines (FalkorDB builds
        # constraints by command, Neo4j in Cypher), so they are exempt; every
        # other name must exist for every dialect.
        names = {
            d: {n for n in q if not n.startswith(_DIALECT_ONLY)} for d, q in per_dialect.items()
        }
        all_names = set().union(*names.values())
        for d in DIALECTS:
            missing = all_names - names[d]
            if missing:
                raise RegistryError(f"dialect {d!r} lacks queries {sorted(missing)}")
        self._queries = {**shared, **per_dialect[dialect]}

    @staticmethod
    def _load_dir(folder: Path, *, shared: bool) -> dict[str, NamedQuery]:
        queries: dict[str, NamedQuery] = {}
        if not folder.is_dir():
            return queries
        for path in sorted(folder.glob("*.cypher")):
            name = path.stem
            if not _NAME_RE.match(name):
                raise RegistryError(f"bad query file name {path.name!r}")
            text = path.read_text(encoding="utf-8").strip()
            if not strip_literals(text).strip():
                raise RegistryError(f"query file {path.name!r} is empty")
            mode_match = _MODE_RE.search(text)
            mode: Literal["read", "write"] = (
                "write" if mode_match and mode_match.group(1) == "write" else "read"
            )
            queries[name] = NamedQuery(
                name=name, text=text, params=params_of(text), mode=mode, path=path, shared=shared
            )
        return queries

    def __contains__(self, name: object) -> bool:
        return name in self._queries

    def __len__(self) -> int:
        return len(self._queries)

    def names(self) -> list[str]:
        """Return every query name, sorted."""
        return sorted(self._queries)

    def get(self, name: str) -> NamedQuery:
        """Return a query by name.

        Raises:
            UnknownQueryError: no such name.
        """
        try:
            return self._queries[name]
        except KeyError:
            raise UnknownQueryError(f"no Cypher query named {name!r}") from None

    def require(self, *names: str) -> None:
        """Fail now (at start-up) if any of `names` is unknown."""
        missing = [n for n in names if n not in self._queries]
        if missing:
            raise UnknownQueryError(f"no Cypher queries named {missing}")

    def check_params(self, name: str, params: dict[str, object]) -> NamedQuery:
        """Return the query after checking the caller passes exactly its parameters.

        Raises:
            UnknownQueryError: no such name.
            RegistryError: parameters missing or unexpected.
        """
        query = self.get(name)
        given = set(params)
        if given != query.params:
            missing = sorted(query.params - given)
            extra = sorted(given - query.params)
            raise RegistryError(
                f"query {name!r} parameters mismatch: missing {missing}, unexpected {extra}"
            )
        return query
