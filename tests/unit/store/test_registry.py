"""The Cypher registry: loading, portability of shared files, parameter contracts."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cpgraph.errors import RegistryError, UnknownQueryError
from cpgraph.store.registry import (
    DIALECTS,
    QueryRegistry,
    default_cypher_dir,
    params_of,
    strip_literals,
)
from tests.queries import TEST_CYPHER, with_test_queries

REPO = Path(__file__).resolve().parents[3]
CYPHER = default_cypher_dir()

# Constructs FalkorDB rejects or answers wrongly, or that only one engine has.
NON_PORTABLE: dict[str, re.Pattern[str]] = {
    "EXISTS { subquery": re.compile(r"\bEXISTS\s*\{", re.IGNORECASE),
    "exists() on a pattern": re.compile(r"\bexists\s*\(\s*\(", re.IGNORECASE),
    "CALL () scoped subquery": re.compile(r"\bCALL\s*\(", re.IGNORECASE),
    "SHORTEST / shortestPath": re.compile(
        r"\bSHORTEST|\bshortestPath\b|\ballShortestPaths\b", re.I
    ),
    "regex match =~": re.compile(r"=~"),
    "APOC": re.compile(r"\bapoc\.", re.IGNORECASE),
    "GDS": re.compile(r"\bgds\.", re.IGNORECASE),
    "label union": re.compile(r"\(\s*\w*\s*:\s*\w+\s*\|"),
    "unbounded variable-length path": re.compile(r"\*\s*(?:\d+\s*)?(?:\.\.\s*)?\]"),
    "engine procedure (db.*)": re.compile(r"\bCALL\s+db\.", re.IGNORECASE),
}


def shared_files() -> list[Path]:
    return sorted([*CYPHER.glob("*.cypher"), *TEST_CYPHER.glob("*.cypher")])


def test_there_are_shared_queries() -> None:
    assert len(shared_files()) >= 5


@pytest.mark.parametrize("path", shared_files(), ids=lambda p: p.name)
def test_shared_files_are_portable(path: Path) -> None:
    text = strip_literals(path.read_text(encoding="utf-8"))
    found = [name for name, pattern in NON_PORTABLE.items() if pattern.search(text)]
    assert not found, f"{path.name} uses non-portable Cypher: {found}"


@pytest.mark.parametrize(
    "snippet",
    [
        "MATCH (a) WHERE EXISTS { MATCH (a)-->() } RETURN a",
        "MATCH (a) WHERE exists((a)-->()) RETURN a",
        "CALL (x) { RETURN 1 }",
        "MATCH p = SHORTEST 1 (a)-->+(b) RETURN p",
        "MATCH (a) WHERE a.name =~ 'x.*' RETURN a",
        "CALL apoc.help('x')",
        "MATCH (a:Person|Event) RETURN a",
        "MATCH (a)-[*]-(b) RETURN b",
        "MATCH (a)-[:R*2..]-(b) RETURN b",
        "CALL db.idx.fulltext.queryNodes('A', 'b')",
    ],
)
def test_portability_check_catches_each_construct(snippet: str) -> None:
    assert any(p.search(strip_literals(snippet)) for p in NON_PORTABLE.values())


def test_portability_check_allows_bounded_paths_and_pattern_predicates() -> None:
    ok = "MATCH (a)-[:R*1..3]-(b) WHERE (a)-[:S]->() CALL { WITH a RETURN a AS x } RETURN b"
    assert not any(p.search(ok) for p in NON_PORTABLE.values())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_registry_loads_every_dialect(dialect: str) -> None:
    registry = QueryRegistry(dialect)
    assert "persons_resolve_upsert" in registry
    assert "fulltext_person_names" in registry
    assert registry.get("persons_resolve_upsert").mode == "write"
    assert registry.get("api_records_by_key").mode == "read"
    # test-only queries are not shipped: they come from the tests' own folder
    assert "source_records_upsert" not in registry
    with_tests = with_test_queries(dialect)
    assert with_tests.get("source_records_upsert").mode == "write"
    assert with_tests.get("source_record_get").mode == "read"


def test_an_extra_folder_may_not_redefine_a_shipped_query(tmp_path: Path) -> None:
    (tmp_path / "persons_resolve_upsert.cypher").write_text("RETURN 1", encoding="utf-8")
    with pytest.raises(RegistryError, match="already defined"):
        QueryRegistry("falkordb", extra_dirs=[tmp_path])


def test_params_ignore_strings_and_comments() -> None:
    text = "// uses $not_a_param\nMATCH (n {a: $real}) WHERE n.b = '$fake' RETURN $other"
    assert params_of(text) == {"real", "other"}


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.cypher").write_text(text, encoding="utf-8")


def test_unknown_name_and_param_mismatch(tmp_path: Path) -> None:
    _write(tmp_path, "one", "MATCH (n {k: $key}) RETURN n")
    registry = QueryRegistry("falkordb", tmp_path)
    with pytest.raises(UnknownQueryError):
        registry.get("two")
    with pytest.raises(UnknownQueryError):
        registry.require("one", "two")
    with pytest.raises(RegistryError, match="missing"):
        registry.check_params("one", {})
    assert registry.check_params("one", {"key": 1}).name == "one"


def test_dialect_query_missing_for_other_dialect_fails_at_start(tmp_path: Path) -> None:
    _write(tmp_path / "falkordb", "search", "RETURN 1")
    with pytest.raises(RegistryError, match="lacks"):
        QueryRegistry("falkordb", tmp_path)
    # DDL and admin statements are exempt: they exist per engine.
    (tmp_path / "falkordb" / "search.cypher").unlink()
    _write(tmp_path / "neo4j", "ddl_001_x", "CREATE INDEX x IF NOT EXISTS FOR (n:A) ON (n.b)")
    assert QueryRegistry("neo4j", tmp_path).names() == ["ddl_001_x"]


def test_shared_and_dialect_name_clash_fails(tmp_path: Path) -> None:
    _write(tmp_path, "q", "RETURN 1")
    _write(tmp_path / "falkordb", "q", "RETURN 2")
    _write(tmp_path / "neo4j", "q", "RETURN 3")
    with pytest.raises(RegistryError, match="both shared and dialect"):
        QueryRegistry("falkordb", tmp_path)


def test_bad_file_name_and_empty_file_fail(tmp_path: Path) -> None:
    _write(tmp_path, "Bad-Name", "RETURN 1")
    with pytest.raises(RegistryError, match="bad query file name"):
        QueryRegistry("falkordb", tmp_path)
    (tmp_path / "Bad-Name.cypher").unlink()
    _write(tmp_path, "empty", "// nothing but a comment\n")
    with pytest.raises(RegistryError, match="empty"):
        QueryRegistry("falkordb", tmp_path)


# ---------------------------------------------------------------------------
# Callers and files agree on parameters (checked statically over src/).

_CALL_METHODS = {"query": set(), "execute": set(), "write_batches": {"rows"}}


def _calls(tree: ast.AST, path: Path) -> list[tuple[str, str, set[str] | None, int]]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _CALL_METHODS or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if any(kw.arg is None for kw in node.keywords):
            kwargs = None  # **params: cannot be checked statically
        else:
            kwargs = {kw.arg for kw in node.keywords if kw.arg != "batch_size"}
            kwargs |= _CALL_METHODS[node.func.attr]
        found.append((first.value, str(path.relative_to(REPO)), kwargs, node.lineno))
    return found


def _all_calls() -> list[tuple[str, str, set[str] | None, int]]:
    calls = []
    # Tests deliberately pass wrong parameters to prove the runtime check; the
    # static contract is about product code.
    for path in sorted((REPO / "src").rglob("*.py")):
        calls.extend(_calls(ast.parse(path.read_text(encoding="utf-8")), path))
    return calls


def test_every_call_passes_exactly_the_files_params() -> None:
    registries = {d: QueryRegistry(d) for d in DIALECTS}
    calls = _all_calls()
    assert len(calls) >= 3, "the scan found too few query calls to mean anything"
    problems = []
    for name, where, kwargs, line in calls:
        # An adapter module (store/neo4j.py) may call its own engine's admin queries.
        stem = Path(where).stem
        dialects = [stem] if stem in registries else list(DIALECTS)
        for dialect in dialects:
            registry = registries[dialect]
            if name not in registry:
                problems.append(f"{where}:{line} calls {name!r}, unknown for {dialect}")
            elif kwargs is None:
                problems.append(f"{where}:{line} passes **params to {name!r}; name them")
            elif kwargs != registry.get(name).params:
                expected = sorted(registry.get(name).params)
                problems.append(
                    f"{where}:{line} {name!r}: passes {sorted(kwargs)}, {dialect} file uses "
                    f"{expected}"
                )
    assert not problems, "\n".join(problems)


def test_every_query_file_has_a_caller() -> None:
    files = [*(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py")]
    source = "\n".join(p.read_text(encoding="utf-8") for p in files)
    unused = []
    for dialect in DIALECTS:
        for name in QueryRegistry(dialect).names():
            if name.startswith("ddl_"):
                continue  # run by bootstrap in name order
            if f'"{name}"' not in source:
                unused.append(name)
    assert not unused, f"query files nobody calls: {sorted(set(unused))}"
