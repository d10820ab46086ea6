"""One home for every setting: settings.py reads the environment and nothing else in the package
does; the README's configuration table lists exactly the settings it defines; no module writes the
environment or reaches into Dagster's internals. One exception, listed line by line: the warm dbt
hands a dbt command's whole environment to the process it forks for it, which takes it on as `exec`
would (dagster_project/dbt_server.py); it reads no setting and sets none of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dagster_project import settings

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dagster_project"


def readme_settings() -> dict[str, str]:
    """Environment variable -> default cell of the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(CSAT_[A-Z0-9_]+)` \| ([^|]*) \|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def package_sources() -> list[Path]:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20  # the walk found the package
    return sources


def test_the_readme_table_lists_exactly_the_settings():
    documented = readme_settings()
    assert documented, "no configuration table found in the README"
    assert set(documented) == set(settings.SETTINGS)
    for name, setting in settings.SETTINGS.items():
        if setting.default:
            assert setting.default.strip("`") in documented[name], name
        else:
            assert documented[name].startswith("unset"), name


READS = re.compile(r"os\.environ|getenv|putenv")
# (file, line) of the warm dbt's hand-over of a process's whole environment (module docstring).
ENVIRONMENT_HAND_OVER = {
    ("dagster_project/dbt_server.py", 'request = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}'),
    ("dagster_project/dbt_server.py", "os.environ.clear()"),
    ("dagster_project/dbt_server.py", 'os.environ.update(request["env"])'),
}


def _lines(pattern: re.Pattern) -> list[tuple[str, int, str]]:
    """(file, line number, line) of the package's lines matching `pattern`, but the hand-over's."""
    return [
        (str(path.relative_to(ROOT)), number, line.strip())
        for path in package_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and (str(path.relative_to(ROOT)), line.strip()) not in ENVIRONMENT_HAND_OVER
    ]


def test_only_settings_py_reads_the_environment():
    readers = [(path, number) for path, number, _ in _lines(READS) if not path.endswith("/settings.py")]
    assert readers == []


def test_the_environment_hand_over_is_where_it_is_listed():
    sources = {path: path.read_text(encoding="utf-8") for path in {ROOT / p for p, _ in ENVIRONMENT_HAND_OVER}}
    for path, line in ENVIRONMENT_HAND_OVER:
        assert line in [text.strip() for text in sources[ROOT / path].splitlines()], (path, line)


FORBIDDEN = re.compile(r"os\.environ\s*\[[^]]*\]\s*=|os\.environ\.(setdefault|pop|update|clear)|putenv|dagster\._core")


def test_nothing_writes_the_environment_or_imports_dagster_internals():
    assert _lines(FORBIDDEN) == []


def test_an_unknown_setting_is_refused():
    with pytest.raises(KeyError, match="README configuration table"):
        settings._get("CSAT_NO_SUCH_SETTING")


def test_secrets_reach_dagster_as_references(monkeypatch):
    import dagster as dg

    from dagster_project.resources import postgres_publication_resource, secret

    monkeypatch.delenv(settings.POSTGRES_URL_ENV, raising=False)
    assert secret(settings.POSTGRES_URL_ENV) == ""
    monkeypatch.setenv(settings.POSTGRES_URL_ENV, "postgresql://bi:pw@db/analytics")
    assert isinstance(postgres_publication_resource().url, dg.EnvVar)
    assert {name for name, s in settings.SETTINGS.items() if s.secret} >= {
        settings.CRM_DATABASE_URL_ENV,
        settings.POSTGRES_URL_ENV,
        "CSAT_PSEUDONYM_KEY",
    }


def test_empty_means_unset_and_paths_resolve(monkeypatch, tmp_path):
    monkeypatch.setenv("CSAT_PUBLISHED_DIR", "")
    assert settings.published_dir() == (Path.cwd() / settings.DEFAULT_PUBLISHED_DIR).resolve()
    monkeypatch.setenv("CSAT_REPORTS_DIR", str(tmp_path / "r"))
    assert settings.reports_dir() == tmp_path / "r"
