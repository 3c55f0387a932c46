"""The results file format shared by every benchmark under benchmarks/results.

    {"title": str, "command": str, "hardware": str,
     "versions": {library: version}, "rows": [flat dict, ...], "notes": [str]}

Each row is one measured configuration with scalar values only, so that the
renderer can lay any file out as a table. Extra top-level keys are allowed.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path

REQUIRED_KEYS = {
    "title": str,
    "command": str,
    "hardware": str,
    "versions": dict,
    "rows": list,
    "notes": list,
}
SCALAR_TYPES = (str, int, float, bool, type(None))


class SchemaError(ValueError):
    """A results file does not follow the shared benchmark format."""


def validate_result(result: dict, source: str = "result") -> None:
    """Raise SchemaError naming the first key or row that breaks the format."""
    for key, expected in REQUIRED_KEYS.items():
        if key not in result:
            raise SchemaError(f"{source} is missing the key {key!r}")
        if not isinstance(result[key], expected):
            raise SchemaError(
                f"{source}: {key!r} must be a {expected.__name__}, "
                f"got {type(result[key]).__name__}"
            )
    for index, row in enumerate(result["rows"]):
        if not isinstance(row, dict):
            raise SchemaError(f"{source}: row {index} is not a dict")
        nested = [k for k, v in row.items() if not isinstance(v, SCALAR_TYPES)]
        if nested:
            raise SchemaError(
                f"{source}: row {index} has non-scalar values in {nested}"
            )
    if not all(isinstance(note, str) for note in result["notes"]):
        raise SchemaError(f"{source}: every note must be a string")


def library_versions(libraries: tuple[str, ...]) -> dict[str, str]:
    """Return the installed version of each library, and Python's."""
    versions = {"python": platform.python_version()}
    for library in libraries:
        try:
            versions[library] = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            versions[library] = "not installed"
    return versions


def write_result(result: dict, path: Path) -> None:
    validate_result(result, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def read_result(path: Path) -> dict:
    result = json.loads(path.read_text(encoding="utf-8"))
    validate_result(result, str(path))
    return result
