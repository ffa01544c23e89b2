"""The web app's mount, without a browser: static files, headers, API routes kept.

Runs everywhere (no Chromium needed): the app is served at `/` with a strict CSP
naming no other origin, `/graphql`, `/healthz`, `/readyz` and `/metrics` keep
working, and GraphiQL (dev only) loads its bundled assets from this server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cpgraph.api import create_app
from cpgraph.config import Backend, Environment, Settings
from cpgraph.demo import DemoInfo
from cpgraph.web import STATIC_DIR

CDN = re.compile(r"unpkg|jsdelivr|cdnjs|googleapis|https?://(?!127\.0\.0\.1|localhost)", re.I)


def _settings(tmp_path: Path, env: Environment) -> Settings:
    return Settings(
        backend=Backend.FALKORDB, data_dir=tmp_path / "data", falkordb_url=None, env=env
    )


@pytest.fixture
def dev_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(tmp_path, Environment.DEV))) as client:
        yield client


def test_app_shell_with_a_strict_csp(dev_client: TestClient) -> None:
    page = dev_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "style-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp and not CDN.search(csp)
    assert page.headers["x-content-type-options"] == "nosniff"
    # the page loads nothing from elsewhere, and no inline script or style
    assert not CDN.search(page.text)
    assert "<style" not in page.text and " style=" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    script = dev_client.get("/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert dev_client.get("/app.css").status_code == 200
    assert dev_client.get("/no-such-file.js").status_code == 404


def test_api_routes_still_answer(dev_client: TestClient) -> None:
    assert dev_client.get("/healthz").json() == {"status": "ok"}
    assert dev_client.get("/readyz").status_code == 200
    assert "cpgraph" in dev_client.get("/metrics").text
    refused = dev_client.post("/graphql", json={"query": "{ me { name } }"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_graphiql_is_bundled_not_from_a_cdn(dev_client: TestClient) -> None:
    page = dev_client.get("/graphql")
    assert page.status_code == 200
    assert "/graphiql-assets/graphiql.js" in page.text
    assert not CDN.search(page.text)
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert dev_client.get("/graphiql-assets/graphiql.js").status_code == 200


def test_no_graphiql_outside_dev(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path, Environment.PROD))) as client:
        assert client.get("/").status_code == 200
        assert client.get("/graphql").status_code != 200
        assert client.get("/graphiql-assets/graphiql.js").status_code == 404


def test_built_assets_are_in_the_package() -> None:
    for name in ("index.html", "app.js", "app.css"):
        assert (STATIC_DIR / name).is_file(), f"run: cd web && npm ci && npm run build ({name})"


def test_demo_prints_the_apps_url() -> None:
    info = DemoInfo.__new__(DemoInfo)
    info.example_person_id = "P0000000042"
    assert info.app_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/#/network/P0000000042"
    info.example_person_id = None
    assert info.app_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
