"""Shared fixtures: fresh registries (in memory or on disk) and the examples directory.

With ``FDI_TEST_STORE=sparql`` and ``FDI_TEST_SPARQL_URL=http://127.0.0.1:PORT`` (an
``oxigraph serve`` that ``.ci/run`` starts), the ``registry`` and ``disk_settings`` fixtures put
the index on that external store instead, emptied before each test; ``pytest -m store`` runs
the tests of registration and queries that CI runs that way (``STORE_MODULES``). A store whose
endpoints are not ``/query`` and ``/update`` under that URL (Virtuoso's one ``/sparql``) names them
in ``FDI_TEST_SPARQL_QUERY_URL`` and ``FDI_TEST_SPARQL_UPDATE_URL`` instead.

The application fixtures ``app``, ``client``, ``onboarding`` and ``fsp`` are made by one factory
(:func:`new_app`); a module or test that needs another variant says so with a marker rather than
a copy of the fixture::

    pytestmark = pytest.mark.app(max_body_bytes=1000, fsp=True)   # settings and options

A test module whose fixture must outlive one test (``scope="module"``) calls :func:`new_app`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.assembly import Registry
from registry.base.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BASE = "http://registry.test/"


# The modules ``pytest -m store`` selects: registration, updates and queries.
STORE_MODULES = {
    "test_registry",
    "test_assets",
    "test_updates",
    "test_http",
    "test_remote_index",
    "test_catalogue",
    "test_federation",
    "test_linked_data",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "store: runs against the external SPARQL store in CI")
    config.addinivalue_line(
        "markers", "app(**options): the variant of the ``app`` fixture (see ``new_app``)"
    )


# Tests of the embedded index's own files, covered for the external store by test_remote_index.
EMBEDDED_ONLY = {
    "test_deleting_the_index_rebuilds_it_identically_from_the_journal",
    "test_a_bulk_registration_rebuilds_identically_from_the_journal",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    external = os.environ.get("FDI_TEST_STORE") == "sparql"
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in STORE_MODULES:
            item.add_marker(pytest.mark.store)
        if external and item.name in EMBEDDED_ONLY:
            item.add_marker(pytest.mark.skip(reason="removes the embedded index's directory"))


def store_urls() -> tuple[str, str] | None:
    """The external store's query and update endpoints from the environment, or None."""
    url = os.environ.get("FDI_TEST_SPARQL_URL", "").rstrip("/")
    query = os.environ.get("FDI_TEST_SPARQL_QUERY_URL") or (url and url + "/query")
    update = os.environ.get("FDI_TEST_SPARQL_UPDATE_URL") or (url and url + "/update")
    return (query, update) if query and update else None


def external_store() -> dict[str, str]:
    """Settings for the external store under test, emptied; {} for the embedded one."""
    if os.environ.get("FDI_TEST_STORE") != "sparql":
        return {}
    from registry.store.remote_index import RemoteIndex

    query, update = store_urls() or ("http://127.0.0.1:7878/query", "http://127.0.0.1:7878/update")
    RemoteIndex(query, update, graph_prefix=BASE + "graph/").clear()
    return {"store": "sparql", "sparql_query_url": query, "sparql_update_url": update}


@pytest.fixture
def registry():
    """A fresh in-memory registry (its index on the external store under FDI_TEST_STORE)."""
    reg = Registry(Settings(data_dir=None, base_iri=BASE, **external_store()))
    yield reg
    reg.close()


@pytest.fixture
def disk_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", base_iri=BASE, **external_store())


def act_as_fsp(app, company_number: str = "01010101"):
    """Make every request to ``app`` come from an onboarded FSP (for tests about other things:
    the write routes need an authenticated flexibility service provider)."""
    from api.auth import current_principal
    from tests.trust import Onboarding

    member = Onboarding.of(app).member("Test Flex Ltd", company_number)
    app.dependency_overrides[current_principal] = lambda: member.principal
    return member.principal


def fsp_app(settings, **options):
    """``create_app`` whose requests all come from an onboarded FSP (see ``act_as_fsp``)."""
    from api.app import create_app

    app = create_app(settings, **options)
    act_as_fsp(app)
    return app


def new_app(
    data_dir: Path | None = None,
    *,
    fsp: bool = False,
    external: bool = False,
    demo_assets: int = 0,
    **settings: Any,
) -> Any:
    """``create_app`` over ``Settings(data_dir=data_dir, base_iri=BASE, **settings)``.

    ``fsp``: every request comes from an onboarded FSP (``act_as_fsp``); ``external``: the index
    is on the external store under ``FDI_TEST_STORE`` (``external_store``); ``demo_assets``:
    that many demonstration assets loaded.
    """
    from api.app import create_app

    settings.setdefault("base_iri", BASE)
    if external:
        settings.update(external_store())
    app = create_app(Settings(data_dir=data_dir, **settings), demo_assets=demo_assets)
    if fsp:
        act_as_fsp(app)
    return app


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh application from :func:`new_app`.

    ``@pytest.mark.app(...)`` on the test or its module passes :func:`new_app`'s options and
    settings, plus ``disk=True`` (its data in ``tmp_path / "data"``), ``started=True`` (its
    lifespan runs for the whole test, as under a server) and ``close=True`` (its registry is
    closed afterwards, for tests that start query workers without the lifespan, which would
    close it; closing twice fails).
    """
    marker = request.node.get_closest_marker("app")
    options = dict(marker.kwargs) if marker else {}
    data_dir = tmp_path / "data" if options.pop("disk", False) else None
    started, close = options.pop("started", False), options.pop("close", False)
    made = new_app(data_dir, **options)
    if started:
        with TestClient(made):
            yield made
    else:
        yield made
    if close:
        made.state.registry.close()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A client of ``app`` with its lifespan running."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def onboarding(app: Any) -> Any:
    """Onboards organisations into ``app`` (``tests.trust.Onboarding``)."""
    from tests.trust import Onboarding

    return Onboarding.of(app)


@pytest.fixture
def fsp(onboarding: Any) -> Any:
    """An onboarded flexibility service provider (``tests.trust.Member``)."""
    return onboarding.member("Example Flex Ltd", "SC123456")


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The registry over HTTPS (``tests.tls_world.Running``); ``@pytest.mark.parametrize(
    "server", [{setting: value}], indirect=True)`` gives it other settings."""
    from tests.tls_world import tls_server

    with tls_server(tmp_path, **getattr(request, "param", {})) as running:
        yield running
