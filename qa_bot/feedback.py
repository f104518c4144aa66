"""Feedback on answers, kept durably in SQLite beside the store."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from .errors import StoreError
from .types import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    generator TEXT NOT NULL,
    rating INTEGER,
    comment TEXT
)
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
            conn.execute(SCHEMA)
            return conn
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the feedback file {self.path} ({exc}); "
                "check that the store directory is writable."
            ) from exc

    def add(self, answer: Answer, *, rating: int | None, comment: str = "") -> int:
        """``rating``: 1 thumbs up, 0 thumbs down."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (at, question, answer, citations, generator, rating, "
                "comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    answer.question,
                    answer.text,
                    json.dumps([c.as_json() for c in answer.citations], ensure_ascii=False),
                    answer.generator,
                    rating,
                    comment.strip(),
                ),
            )
            return int(cur.lastrowid or 0)

    def export(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [{**dict(r), "citations": json.loads(r["citations"])} for r in rows]
