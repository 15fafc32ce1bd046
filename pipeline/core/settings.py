"""The base of every settings class: unknown keys are errors and a loaded config never changes.

Each stage's settings live beside the stage (``pipeline/stages/*/settings.py``); the
whole run's ``Config``, which composes them, and its loader are in ``pipeline.run.config``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictSettings(BaseModel):
    """Settings validated strictly: an unknown key is an error (a typo never falls back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
