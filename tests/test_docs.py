"""The documentation stays true to the code it describes."""

from __future__ import annotations

from pathlib import Path

from ragprism.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [
        f"RAGPRISM_{name.upper()}"
        for name in Settings.model_fields
        if f"`RAGPRISM_{name.upper()}`" not in text
    ]
    assert missing == []


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make run" in text
    assert "make test" in text
