"""Static checks of the Cypher that runs on Neo4j 5 (no server needed).

Neo4j cannot run on the build machines, so what would only fail there is
checked here: constructs Neo4j 5 removed or deprecated, functions one engine
lacks, and that the Neo4j schema covers every FalkorDB index and constraint.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cpgraph.store.registry import QueryRegistry, default_cypher_dir, strip_literals

CYPHER = default_cypher_dir()
SHARED = sorted(CYPHER.glob("*.cypher"))
NEO4J = sorted((CYPHER / "neo4j").glob("*.cypher"))
FALKORDB = sorted((CYPHER / "falkordb").glob("*.cypher"))

# Removed in Neo4j 5 (a syntax error there) or deprecated with a better form.
NEO4J5_REMOVED: dict[str, re.Pattern[str]] = {
    "exists(n.prop) (removed in 5: use `IS NOT NULL`)": re.compile(
        r"\bexists\s*\(\s*[A-Za-z_]\w*\s*\.", re.IGNORECASE
    ),
    # (a map projection `n {x}` follows a variable, a legacy parameter does not)
    "{param} parameter syntax (removed: use $param)": re.compile(
        r"(?:[^\w\s`]|\b(?:IN|UNWIND|LIMIT|SKIP|THEN|ELSE|WHEN|AND|OR|XOR|NOT|RETURN|WITH))"
        r"\s*\{\s*[A-Za-z_]\w*\s*\}",
        re.IGNORECASE,
    ),
    "CREATE/DROP INDEX ON :Label(prop) (removed: use FOR ... ON)": re.compile(
        r"\bINDEX\s+ON\s*:", re.IGNORECASE
    ),
    "CONSTRAINT ON ... ASSERT (removed: use FOR ... REQUIRE)": re.compile(
        r"\bCONSTRAINT\s+ON\b|\bASSERT\b", re.IGNORECASE
    ),
    "db.indexes() / db.constraints() (removed: use SHOW INDEXES / SHOW CONSTRAINTS)": re.compile(
        r"\bdb\.(?:indexes|constraints|indexDetails|schemaStatements)\s*\(", re.IGNORECASE
    ),
    "db.index.fulltext.create*/drop (removed: use CREATE FULLTEXT INDEX)": re.compile(
        r"\bdb\.index\.fulltext\.(?:create\w*|drop)\s*\(", re.IGNORECASE
    ),
    "USING PERIODIC COMMIT (removed: use CALL { } IN TRANSACTIONS)": re.compile(
        r"\bPERIODIC\s+COMMIT\b", re.IGNORECASE
    ),
    "size() of a pattern (removed: use COUNT { })": re.compile(r"\bsize\s*\(\s*\(", re.IGNORECASE),
    "variable bound to a variable-length relationship (deprecated)": re.compile(
        r"\[\s*[A-Za-z_]\w*\s*:[^\]]*\*"
    ),
    "[:A|:B] relationship type alternation with colons (deprecated)": re.compile(r"\[[^\]]*\|\s*:"),
    "id() (deprecated in 5; ids are reused after deletes)": re.compile(
        r"(?<![\w.])id\s*\(", re.IGNORECASE
    ),
    "FalkorDB procedure (db.idx.* / algo.*)": re.compile(r"\bdb\.idx\.|\balgo\.", re.I),
}

# Functions both engines have with the same meaning. Before adding one, check
# it in both the FalkorDB and the Neo4j 5 Cypher manuals.
PORTABLE_FUNCTIONS = frozenset(
    {
        "abs", "all", "any", "avg", "ceil", "coalesce", "collect", "count", "endnode",
        "floor", "head", "keys", "labels", "last", "left", "length", "max", "min", "none",
        "nodes", "properties", "range", "relationships", "replace", "reverse", "right",
        "round", "single", "size", "split", "startnode", "substring", "sum", "tail",
        "toboolean", "tofloat", "tointeger", "tolower", "tostring", "toupper", "trim",
        "type",
    }
)  # fmt: skip
# Words that precede `(` without being a function call.
_NOT_CALLS = frozenset(
    {
        "and", "as", "by", "call", "case", "create", "delete", "distinct", "each", "else",
        "exists", "for", "foreach", "in", "match", "merge", "not", "on", "or", "return",
        "set", "then", "union", "unwind", "when", "where", "with", "xor", "yield",
    }
)  # fmt: skip
_CALL_RE = re.compile(r"(?<![\w.:$`])([A-Za-z_][\w.]*)\s*\(")


def _text(path: Path) -> str:
    return strip_literals(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SHARED + NEO4J, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_construct_neo4j5_removed(path: Path) -> None:
    text = _text(path)
    found = [name for name, pattern in NEO4J5_REMOVED.items() if pattern.search(text)]
    assert not found, f"{path.name} uses Cypher Neo4j 5 rejects or deprecates: {found}"


@pytest.mark.parametrize(
    "snippet",
    [
        "MATCH (n) WHERE exists(n.name) RETURN n",
        "MATCH (n {key: {key}}) RETURN n",
        "UNWIND {rows} AS row RETURN row",
        "CREATE INDEX ON :Person(name)",
        "CREATE CONSTRAINT ON (n:P) ASSERT n.id IS UNIQUE",
        "CALL db.indexes()",
        "CALL db.index.fulltext.createNodeIndex('x', ['A'], ['b'])",
        "USING PERIODIC COMMIT LOAD CSV FROM 'x' AS row CREATE ()",
        "MATCH (a) RETURN size((a)-->())",
        "MATCH (a)-[rs:R*1..3]->(b) RETURN rs",
        "MATCH (a)-[:A|:B]->(b) RETURN b",
        "MATCH (a) RETURN id(a)",
        "CALL db.idx.fulltext.queryNodes('A', 'b')",
    ],
)
def test_removed_construct_check_catches_each(snippet: str) -> None:
    assert any(p.search(strip_literals(snippet)) for p in NEO4J5_REMOVED.values())


def test_removed_construct_check_allows_current_forms() -> None:
    ok = (
        "MATCH (n:P {key: $key})-[:R*1..3]-(o) WHERE n.x IS NOT NULL AND (n)-[:S]->() "
        "CALL { WITH n RETURN n AS m } "
        "FOREACH (_ IN CASE WHEN n.id IS NULL THEN [1] ELSE [] END | SET n.id = 1) "
        "RETURN {id: o.person_id, valid: true} AS x, size($types) AS t, o {name} AS y"
    )
    assert not any(p.search(ok) for p in NEO4J5_REMOVED.values())


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_shared_files_call_only_functions_both_engines_have(path: Path) -> None:
    names = {m.group(1).lower() for m in _CALL_RE.finditer(_text(path))}
    unknown = sorted(n for n in names - _NOT_CALLS if n not in PORTABLE_FUNCTIONS)
    assert not unknown, f"{path.name} calls functions not known to be portable: {unknown}"


# ---------------------------------------------------------------------------
# The Neo4j schema covers the FalkorDB one.

_FALKOR_INDEX_RE = re.compile(
    r"CREATE\s+INDEX\s+FOR\s*\(\s*\w+\s*:\s*(\w+)\s*\)\s*ON\s*\(\s*\w+\.(\w+)"
)
_FALKOR_FULLTEXT_RE = re.compile(
    r"createNodeIndex\s*\(\s*\{\s*label\s*:\s*'(\w+)'.*?\}\s*,\s*(.*)\)", re.DOTALL
)
_NEO4J_DDL_RE = re.compile(
    r"^CREATE\s+(?P<kind>CONSTRAINT|INDEX|FULLTEXT\s+INDEX)\s+(?P<name>\w+)\s+IF\s+NOT\s+EXISTS\s+"
    r"FOR\s*\(\s*\w+\s*:\s*(?P<label>\w+)\s*\)\s*"
    r"(?:REQUIRE\s+\w+\.(?P<unique>\w+)\s+IS\s+UNIQUE"
    r"|ON\s*\(\s*\w+\.(?P<prop>\w+)\s*\)"
    r"|ON\s+EACH\s*\[(?P<fields>[^\]]*)\])",
    re.IGNORECASE,
)


def _statement(path: Path) -> str:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return " ".join(ln.strip() for ln in lines if not ln.strip().startswith("//"))


def _neo4j_schema() -> dict[str, list[re.Match[str]]]:
    schema: dict[str, list[re.Match[str]]] = {"unique": [], "index": [], "fulltext": []}
    for path in NEO4J:
        if not path.stem.startswith("ddl_"):
            continue
        match = _NEO4J_DDL_RE.match(_statement(path))
        assert match, f"{path.name}: not a named CREATE ... IF NOT EXISTS Neo4j 5 statement"
        if match["unique"]:
            schema["unique"].append(match)
        elif match["prop"]:
            schema["index"].append(match)
        else:
            schema["fulltext"].append(match)
    return schema


def test_neo4j_ddl_files_are_named_idempotent_writes() -> None:
    registry = QueryRegistry("neo4j")
    ddl = [n for n in registry.names() if n.startswith("ddl_")]
    assert ddl, "no Neo4j DDL files"
    for name in ddl:
        # One schema statement per file: Neo4j refuses schema and data changes
        # in one transaction, and each file is one transaction.
        assert registry.get(name).mode == "write", f"{name} needs `// mode: write`"
        assert ";" not in strip_literals(registry.get(name).text), f"{name}: one statement only"
    names = [m["name"] for ms in _neo4j_schema().values() for m in ms]
    assert len(names) == len(set(names)), f"Neo4j schema names must be unique: {sorted(names)}"


def test_every_falkordb_index_and_constraint_has_a_neo4j_equivalent() -> None:
    schema = _neo4j_schema()
    unique = {(m["label"], m["unique"]) for m in schema["unique"]}
    # A uniqueness constraint is backed by an index on the same property.
    indexed = unique | {(m["label"], m["prop"]) for m in schema["index"]}
    falkor_indexes = set()
    for path in FALKORDB:
        if path.stem.startswith("ddl_"):
            falkor_indexes.update(_FALKOR_INDEX_RE.findall(_statement(path)))
    assert falkor_indexes, "found no FalkorDB indexes to compare"
    assert not falkor_indexes - indexed, f"no Neo4j index for {sorted(falkor_indexes - indexed)}"

    constraints = tomllib.loads((CYPHER / "falkordb" / "constraints.toml").read_text("utf-8"))
    wanted = {(c["label"], p) for c in constraints["unique"] for p in c["properties"]}
    assert all(len(c["properties"]) == 1 for c in constraints["unique"])
    assert not wanted - unique, f"no Neo4j uniqueness constraint for {sorted(wanted - unique)}"


def test_fulltext_index_matches_between_engines_and_queries() -> None:
    schema = _neo4j_schema()
    neo4j_fulltext = {
        m["name"]: (m["label"], set(re.findall(r"\w+\.(\w+)", m["fields"])))
        for m in schema["fulltext"]
    }
    falkor = {}
    for path in FALKORDB:
        match = _FALKOR_FULLTEXT_RE.search(_statement(path))
        if path.stem.startswith("ddl_") and match:
            falkor[match[1]] = set(re.findall(r"field\s*:\s*'(\w+)'", match[2]))
    assert falkor, "found no FalkorDB full-text index to compare"
    assert sorted(falkor.items()) == sorted(neo4j_fulltext.values())
    # Every Neo4j full-text query names an index the DDL creates.
    for path in NEO4J:
        text = path.read_text(encoding="utf-8")
        for index in re.findall(r"db\.index\.fulltext\.queryNodes\(\s*'(\w+)'", text):
            assert index in neo4j_fulltext, f"{path.name} queries unknown index {index!r}"
