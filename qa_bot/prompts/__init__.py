"""Prompts live in files beside this module and are rendered by :func:`render`."""

from __future__ import annotations

from importlib.resources import files
from string import Template


def render(name: str, **values: str) -> str:
    """The prompt ``name`` (a file here, without ``.md``) with ``$placeholders`` filled."""
    text = files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    return Template(text).substitute(**values).strip()
