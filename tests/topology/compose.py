"""docker-compose.yml read as Docker Compose reads it: the services' commands and variables.

The topology test starts these commands natively; the only things it changes are addresses
(a container's host name and port become a loopback port; a path of the image becomes a
temporary folder), each named in `native_env`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


class MissingVariable(Exception):
    pass


def interpolate(value: str, host_env: dict[str, str]) -> str:
    """Compose's interpolation: `$$` is `$`; `${X}`, `${X:-default}`, `${X-default}`,
    `${X:?message}`, `${X?message}` read the host's environment."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = host_env.get(name)
        if op in (":-", ":?"):
            empty = not value
        else:
            empty = value is None
        if op and op.endswith("-") and empty:
            return arg
        if op and op.endswith("?") and empty:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, value)


def load() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service(name: str) -> dict:
    return load()["services"][name]


def service_env(name: str, host_env: dict[str, str]) -> dict[str, str]:
    """The container's environment of service `name`, interpolated."""
    raw = service(name).get("environment") or {}
    return {key: interpolate(str(value), host_env) for key, value in raw.items()}


def service_command(name: str, host_env: dict[str, str]) -> list[str]:
    return [interpolate(str(part), host_env) for part in service(name)["command"]]
