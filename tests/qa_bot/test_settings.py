from __future__ import annotations

from pathlib import Path

import pytest

from qa_bot.errors import ConfigError
from qa_bot.settings import load_settings


def test_defaults_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert s.store.parts[-3:] == ("data", "qa-bot", "store")  # under XDG_DATA_HOME
    assert (s.collection, s.embedder, s.chroma_url) == ("releases", "use-multilingual", None)
    (tmp_path / ".env").write_text("QA_BOT_COLLECTION=press.fr\nQA_BOT_CHUNK_TOKENS=64\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_BOT_CHROMA_URL", "http://127.0.0.1:8000/")
    s = load_settings(store=tmp_path / "cli-store")
    assert (s.collection, s.chunk_tokens) == ("press.fr", 64)
    assert s.chroma_url == "http://127.0.0.1:8000" and s.store_location == s.chroma_url
    assert s.store == tmp_path / "cli-store"


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("QA_BOT_COLLECTION", "ab", "QA_BOT_COLLECTION"),
        ("QA_BOT_COLLECTION", "bad name!", "QA_BOT_COLLECTION"),
        ("QA_BOT_CHROMA_URL", "localhost:8000", "http://127.0.0.1:8000"),
        ("QA_BOT_TOKENIZER", "foo", "use one of cl100k_base, o200k_base"),
        ("QA_BOT_COLLECTION", "a..b", "without '..'"),
        ("QA_BOT_COLLECTION", "10.0.0.1", "not shaped like an IP address"),
        ("QA_BOT_COLLECTION", "x" * 300, "3-200 characters"),
        (
            "QA_BOT_CHUNK_TOKENS",
            "3",
            "QA_BOT_CHUNK_TOKENS: Input should be greater than or equal to 16",
        ),
    ],
)
def test_bad_settings_name_the_fix(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, words: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=words):
        load_settings()


def test_an_empty_variable_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_BOT_TOKENIZER", "")
    monkeypatch.setenv("QA_BOT_COLLECTION", "")
    s = load_settings()
    assert (s.tokenizer, s.collection) == ("cl100k_base", "releases")


def test_a_bad_value_reads_as_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_BOT_TOKENIZER", "foo")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "Value error" not in str(info.value)


def test_env_example_lists_every_variable() -> None:
    from qa_bot.settings import Settings

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for field in Settings.model_fields.values():
        names = [a for a in field.validation_alias.choices if a.isupper()]  # type: ignore[union-attr]
        assert names and names[0] in example and names[0] in readme, names
