"""Issue 15 item 4: one typed settings object, read from ``FDI_*`` variables, validated the same
way whether a value comes from the environment or from code, immutable, and documented by a
table in docs/configuration.md generated from the class itself."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from registry.base.settings import TABLE_END, TABLE_START, Settings, markdown_table, with_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
SECRET = "s" * 32
# Variables of the test suite's own that share the prefix (tests/conftest.py, tests/*.py).
TEST_VARIABLES = {"FDI_SHARED_DIR", "FDI_SHACL_EXAMPLES"}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch):
    """Set ``FDI_*`` variables for one test, starting from none."""
    for name in [n for n in os.environ if n.upper().startswith("FDI_")]:
        monkeypatch.delenv(name)
    return monkeypatch.setenv


def variables() -> set[str]:
    return {"FDI_" + name.upper() for name in Settings.model_fields}


# --- the environment -----------------------------------------------------------------------


def test_variables_are_read_as_their_fields_types(environ) -> None:
    environ("FDI_QUERY_TIMEOUT", "3.5")
    environ("FDI_MAX_RESULTS", "7")
    environ("FDI_DATA_DIR", "/srv/fdi")
    environ("FDI_BASE_IRI", "https://registry.example.org")
    environ("FDI_VALIDATOR", "pyshacl")
    settings = Settings.from_env()
    assert settings.query_timeout == 3.5
    assert settings.max_results == 7
    assert settings.data_dir == Path("/srv/fdi")
    assert settings.store == "oxigraph"
    assert settings.base_iri == "https://registry.example.org/"
    assert settings.validator == "pyshacl"


def test_an_empty_data_dir_keeps_everything_in_memory(environ) -> None:
    environ("FDI_DATA_DIR", "")
    settings = Settings.from_env()
    assert (settings.data_dir, settings.store) == (None, "memory")


def test_overrides_win_over_the_environment_and_none_is_no_override(environ) -> None:
    environ("FDI_BASE_IRI", "https://from-env.example/")
    environ("FDI_DATA_DIR", "/from-env")
    settings = Settings.from_env(base_iri="https://given.example/", data_dir=None)
    assert settings.base_iri == "https://given.example/"
    assert settings.data_dir == Path("/from-env")


def test_without_variables_the_defaults_hold(environ) -> None:
    assert Settings.from_env() == Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FDI_QUERY_TIMEOUT", "ten"),
        ("FDI_MAX_RESULTS", "1.5"),
        ("FDI_QUERY_WORKERS", ""),
        ("FDI_STORE", "postgres"),
        ("FDI_VALIDATOR", "fast"),
        ("FDI_QUERY_ISOLATION", "maybe"),
        ("FDI_FEED_PAGE_SIZE", "0"),
        ("FDI_PROXY_SECRET", "short"),
    ],
)
def test_an_unusable_value_is_refused_naming_its_variable(environ, name: str, value: str) -> None:
    environ(name, value)
    with pytest.raises(ValueError, match=f"^{name}"):
        Settings.from_env()


def test_a_bad_trusted_proxy_network_is_named(environ) -> None:
    environ("FDI_PROXY_SECRET", SECRET)
    environ("FDI_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/99")
    with pytest.raises(ValueError, match=r"^FDI_TRUSTED_PROXIES: '10\.0\.0\.0/99'"):
        Settings.from_env()


def test_trusted_proxies_without_a_secret_are_refused(environ) -> None:
    environ("FDI_TRUSTED_PROXIES", "127.0.0.1")
    with pytest.raises(ValueError, match="set FDI_PROXY_SECRET too"):
        Settings.from_env()


def test_every_unusable_variable_is_named_at_once(environ) -> None:
    environ("FDI_QUERY_TIMEOUT", "ten")
    environ("FDI_STORE", "postgres")
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert re.findall(r"^FDI_\w+", str(refused.value), re.MULTILINE) == [
        "FDI_STORE",
        "FDI_QUERY_TIMEOUT",
    ]


def test_a_refused_secret_is_not_repeated_in_the_error(environ) -> None:
    environ("FDI_PROXY_SECRET", "hunter2-hunter2")
    environ("FDI_JOURNAL_URL", "postgresql://fdi:hunter2@db/fdi")
    environ("FDI_QUERY_WORKERS", "many")
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert "hunter2" not in str(refused.value)
    assert "'many'" in str(refused.value)  # other values are shown


def test_variables_that_name_no_setting_are_ignored(environ) -> None:
    environ("FDI_NO_SUCH_SETTING", "1")
    environ("FDI_TEST_STORE", "sparql")  # the test suite's own
    assert Settings.from_env() == Settings()


def test_a_setting_in_other_than_upper_case_is_refused_by_name(environ) -> None:
    environ("FDI_BASE_IRI", "https://upper.example/")
    environ("fdi_base_iri", "https://lower.example/")  # would win over the upper-case one
    environ("Fdi_Proxy_Secret", "x" * 40)
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert "fdi_base_iri: settings are read by their upper-case names only" in str(refused.value)
    assert "Fdi_Proxy_Secret" in str(refused.value) and "x" * 40 not in str(refused.value)


def test_settings_made_in_code_do_not_read_the_environment(environ) -> None:
    environ("FDI_BASE_IRI", "https://from-env.example/")
    environ("FDI_QUERY_TIMEOUT", "ten")
    assert Settings(data_dir=None).base_iri == "http://localhost:8000/"


def test_fdi_serve_refuses_an_unusable_variable_by_name(environ) -> None:
    environ("FDI_QUERY_TIMEOUT", "ten")
    result = CliRunner().invoke(main, ["serve", "--memory"])
    assert result.exit_code == 2
    assert "FDI_QUERY_TIMEOUT" in result.output


# --- values given in code ------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"store": "postgres"},
        {"query_timeout": "ten"},
        {"max_results": 1.5},
        {"feed_page_size": 0},
        {"query_isolation": "maybe"},
        {"no_such_setting": 1},
        {"trusted_proxies": "127.0.0.1"},
    ],
)
def test_values_given_in_code_are_validated_as_the_environment_is(values: dict) -> None:
    with pytest.raises(ValueError):
        Settings(**values)


def test_values_given_in_code_are_converted_as_the_environment_is() -> None:
    settings = Settings(data_dir="/srv/fdi", query_timeout="2", max_results="5")
    assert (settings.data_dir, settings.query_timeout, settings.max_results) == (
        Path("/srv/fdi"),
        2.0,
        5,
    )
    assert Settings(data_dir="").data_dir is None


def test_settings_are_immutable() -> None:
    settings = Settings(data_dir=None)
    with pytest.raises(ValueError, match="frozen"):
        settings.query_timeout = 1.0  # type: ignore[misc]
    assert settings.query_timeout == 10.0


def test_replace_derives_new_settings_and_leaves_the_old() -> None:
    settings = Settings(data_dir=None, base_iri="https://r.example/")
    changed = settings.replace(checkpoint_every=2, base_iri="https://s.example")
    assert (changed.checkpoint_every, changed.base_iri) == (2, "https://s.example/")
    assert changed.data_dir is None
    assert (settings.checkpoint_every, settings.base_iri) == (1000, "https://r.example/")


@pytest.mark.parametrize("changes", [{"query_workers": "many"}, {"store": "x"}, {"nope": 1}])
def test_replace_validates_the_changes(changes: dict) -> None:
    with pytest.raises(ValueError):
        Settings(data_dir=None).replace(**changes)


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings(proxy_secret=SECRET, journal_url="postgresql://fdi:hunter2@db/fdi")
    assert SECRET not in repr(settings)
    assert "hunter2" not in repr(settings)


# --- docs/configuration.md -----------------------------------------------------------------


def test_the_configuration_page_holds_the_generated_table() -> None:
    page = PAGE.read_text("utf-8")
    assert page == with_table(page), (
        "docs/configuration.md differs from the settings class: "
        "python -m registry.base.settings --write docs/configuration.md"
    )


def test_a_stale_table_is_told_apart() -> None:
    page = PAGE.read_text("utf-8")
    stale = re.sub(r"^\| `FDI_STORE` .*\n", "", page, flags=re.MULTILINE)
    assert stale != page
    assert with_table(stale) == page


def test_the_table_has_a_row_with_a_description_for_every_setting() -> None:
    rows = re.findall(r"^\| `(FDI_\w+)` \| [^|]+ \| [^|]+ \| (.+) \|$", markdown_table(), re.M)
    assert [name for name, _ in rows] == ["FDI_" + n.upper() for n in Settings.model_fields]
    assert all(len(description) > 20 for _, description in rows)


def test_the_page_keeps_its_prose_around_the_table() -> None:
    before, rest = PAGE.read_text("utf-8").split(TABLE_START)
    _, after = rest.split(TABLE_END)
    assert "nothing else reads the" in before
    assert "Only one process can open an on-disk index" in after


def test_every_variable_the_docs_name_is_a_setting() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {m for p in pages for m in re.findall(r"\bFDI_[A-Z_]*[A-Z]", p.read_text("utf-8"))}
    named -= {n for n in named if n.startswith("FDI_TEST_")}
    assert named - TEST_VARIABLES <= variables()
    assert len(named) > 40  # the pages were read


def test_fdi_serve_help_agrees_with_the_settings() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    named = set(re.findall(r"\bFDI_[A-Z_]*[A-Z]", result.output))
    assert named and named <= variables()
    assert f"./{Settings().data_dir}" in result.output  # its default data directory


def test_the_module_examples_hold() -> None:
    import doctest

    import registry.base.settings

    result = doctest.testmod(registry.base.settings)
    assert result.attempted > 0 and result.failed == 0
