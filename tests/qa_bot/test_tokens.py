from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa_bot.errors import ConfigError
from qa_bot.tokens import ENCODING_URL, TokenCounter, prepare_cache


def test_encodings_come_from_the_wheel_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    cache = prepare_cache(tmp_path / "unused")
    assert cache == tmp_path / "tk"
    for name in ("cl100k_base", "o200k_base"):
        key = hashlib.sha1(ENCODING_URL.format(name=name).encode()).hexdigest()
        assert (cache / key).stat().st_size > 1_000_000
    counter = TokenCounter(encoding="o200k_base", cache_dir=tmp_path / "unused")
    assert counter.count("Lt Gen Andrew M. Rohling opened the meeting.") == 11
    text = "one two three four five"
    windows = counter.windows(text, 2)
    assert windows[0][0] == 0 and windows[-1][1] == len(text) and len(windows) == 3
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(counter.count(text[s:e]) <= 2 for s, e in windows)


def test_unknown_encoding_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="QA_BOT_TOKENIZER"):
        TokenCounter(encoding="p99k_base", cache_dir=tmp_path).count("x")
