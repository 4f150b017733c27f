"""The documentation keeps up with the code: settings, README commands, the article schema."""

import json
from pathlib import Path

from medcite.models import Article
from medcite.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    text = (ROOT / "docs" / "settings.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.env}`" in text, f"{setting.env} missing from docs/settings.md"


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text()
    for script in ("scripts/demo", "scripts/test"):
        assert script in readme
        assert (ROOT / script).is_file()


def test_published_article_schema_is_current():
    published = json.loads((ROOT / "docs" / "article.schema.json").read_text())
    assert published == Article.model_json_schema(), (
        "docs/article.schema.json is stale: regenerate it with "
        "`medcite schema > docs/article.schema.json`")
