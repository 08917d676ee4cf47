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


def test_models_guide_names_the_real_factories_and_routes(tmp_path: Path) -> None:
    import re

    from ragprism.api.app import create_app
    from ragprism.services.models.model_settings import FACTORIES, MODEL_TYPES

    text = (ROOT / "docs" / "models.md").read_text()
    assert "docs/models.md" in (ROOT / "README.md").read_text()
    assert [f for f in FACTORIES if f"`{f}`" not in text] == []
    assert [t for t in MODEL_TYPES if f"`{t}`" not in text] == []
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    paths = app.openapi()["paths"]
    routes = {(method.upper(), path) for path, item in paths.items() for method in item}
    named = re.findall(r"`(GET|POST|PUT|DELETE) (/[^`\s]+)`", text)
    assert named
    assert [(m, p) for m, p in named if (m, p) not in routes] == []


def test_every_picture_the_docs_show_exists() -> None:
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    shown = [
        (page.name, (page.parent / target).resolve())
        for page in pages
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", page.read_text())
    ]
    assert shown
    assert [(page, path.name) for page, path in shown if not path.is_file()] == []
