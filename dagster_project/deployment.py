"""The deployment file: which entities a deployment delivers, its reporting time zone, and where the
seeds and mapping files it edits live.

    # config/deployment.yml (CSAT_DEPLOYMENT_CONFIG points at another file)
    entities: [survey_responses, survey_item_scores]   # or a source name (`crm`), or `survey.followups`
    reporting_time_zone: Asia/Shanghai                 # IANA name; CSAT_REPORTING_TIME_ZONE overrides
    seeds_dir: /srv/csat/seeds                         # CSAT_SEEDS_DIR overrides; relative = to this file
    mappings_dir: mappings                             # per-entity mapping YAML; relative = to this file

Every key is optional: by default every contract entity is declared, months are cut in UTC, the seeds
are the repo's `seeds/` and the mappings the repo's `config/mappings/`. An entity that is declared but
never delivered is reported (a warning of its quality check); one that is not declared and never
delivered is skipped silently. Files delivered for an entity that is not declared still load: the
file says what a deployment expects, it never throws data away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster_project import settings, yaml_files
from dagster_project.contract import ENTITIES, ENTITIES_BY_NAME

KEYS = ("entities", "reporting_time_zone", "seeds_dir", "mappings_dir")
DEFAULT_TIME_ZONE = "UTC"


class DeploymentConfigError(ValueError):
    """A deployment file that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Deployment:
    entities: tuple[str, ...]  # declared entity names, in contract order
    reporting_time_zone: str
    seeds_dir: Path
    mappings_dir: Path
    path: Path | None = None

    def is_declared(self, entity_name: str) -> bool:
        return entity_name in self.entities


def _check_time_zone(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DeploymentConfigError(f"{where}: reporting_time_zone must be an IANA time zone name, got {value!r}")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise DeploymentConfigError(
            f"{where}: reporting_time_zone {value!r} is not an IANA time zone (e.g. UTC, Europe/Paris, Asia/Shanghai)"
        ) from None
    return value.strip()


def _entities(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return tuple(e.name for e in ENTITIES)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DeploymentConfigError(f"{where}: entities must be a non-empty list of entity or source names")
    sources = {e.source for e in ENTITIES}
    wanted: set[str] = set()
    for item in value:
        name = item.strip()
        if name in sources:
            wanted.update(e.name for e in ENTITIES if e.source == name)
        elif name in ENTITIES_BY_NAME:
            wanted.add(name)
        elif "." in name and name.split(".", 1)[1] in ENTITIES_BY_NAME:
            entity = ENTITIES_BY_NAME[name.split(".", 1)[1]]
            if entity.qualified_name != name:
                raise DeploymentConfigError(
                    f"{where}: {name!r}: entity {entity.name} belongs to source {entity.source}"
                )
            wanted.add(entity.name)
        else:
            known = ", ".join([*sorted(sources), *(e.name for e in ENTITIES)])
            raise DeploymentConfigError(f"{where}: unknown entity or source {name!r} in entities; known: {known}")
    return tuple(e.name for e in ENTITIES if e.name in wanted)


def _folder(value: Any, key: str, base: Path, default: Path, where: str) -> Path:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise DeploymentConfigError(f"{where}: {key} must be a folder path, got {value!r}")
    path = Path(value.strip()).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def parse_deployment(data: Any, *, path: Path | None = None) -> Deployment:
    where = str(path) if path else "deployment config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DeploymentConfigError(f"{where}: expected a mapping with keys {', '.join(KEYS)}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise DeploymentConfigError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(KEYS)}"
        )
    base = path.parent if path else settings.repo_root()
    time_zone = settings.reporting_time_zone_override()
    if time_zone:
        time_zone = _check_time_zone(time_zone, "CSAT_REPORTING_TIME_ZONE")
    else:
        time_zone = _check_time_zone(data.get("reporting_time_zone", DEFAULT_TIME_ZONE), where)
    seeds_dir = settings.seeds_dir_override() or _folder(
        data.get("seeds_dir"), "seeds_dir", base, settings.repo_root() / "seeds", where
    )
    return Deployment(
        entities=_entities(data.get("entities"), where),
        reporting_time_zone=time_zone,
        seeds_dir=seeds_dir,
        mappings_dir=_folder(
            data.get("mappings_dir"), "mappings_dir", base, settings.repo_root() / "config" / "mappings", where
        ),
        path=path,
    )


def load_deployment(path: Path | None = None) -> Deployment:
    """The deployment of `path` (default: settings.deployment_config_path()). A missing default file
    means the defaults; a missing file that was asked for is an error."""
    explicit = path is not None
    path = Path(path) if explicit else settings.deployment_config_path()
    if not path.is_file():
        if explicit or path != settings.repo_root() / settings.DEFAULT_DEPLOYMENT_CONFIG:
            raise DeploymentConfigError(
                f"{path}: deployment file not found (set CSAT_DEPLOYMENT_CONFIG to an existing file)"
            )
        return parse_deployment({})
    try:
        data = yaml_files.safe_load(path.read_text(encoding="utf-8"))
    except yaml_files.YAMLError as error:
        raise DeploymentConfigError(f"{path}: not valid YAML: {error}") from error
    return parse_deployment(data, path=path)
