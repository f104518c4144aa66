"""Chunking: paragraphs, then sentences, sized in tokens.

Two levels, both with exact character spans in the release text:

- **passages** (parents): whole paragraphs packed together up to
  ``passage_tokens``; a longer paragraph is cut between sentences. A passage
  is what the answerer reads.
- **chunks** (children): one sentence each (a sentence longer than
  ``chunk_tokens`` is cut into token windows; a fragment of a few words joins
  its neighbour). A chunk is what is embedded and matched: sentence-sized units
  retrieve better than paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa_bot.tokens import TokenCounter
from qa_bot.types import Chunk, Release

CHUNKER_VERSION = "3"
# "T. Serban", "Lt. Gen. Rohling", "M. Dupont": a sentence splitter's false stops
ABBREVIATION_END = re.compile(
    r"(?:^|[\s(])(?:[A-Z]|Gen|Lt|Col|Maj|Brig|Adm|Capt|Sgt|Cpl|Dr|Mr|Mrs|Ms|St|Mgr|Me|No|"
    r"Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|U\.S|U\.N)\.$"
)
WORD = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 4


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    paragraph: int
    language: str


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """Sentence spans in ``text`` (whitespace trimmed)."""
    import sentencex

    spans = []
    for b in sentencex.get_sentence_boundaries(language if language != "und" else "en", text):
        start, end = b["start_index"], b["end_index"]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


class Chunker:
    def __init__(
        self, *, tokens: TokenCounter, chunk_tokens: int = 128, passage_tokens: int = 320
    ) -> None:
        self.tokens = tokens
        self.chunk_tokens = chunk_tokens
        self.passage_tokens = max(passage_tokens, chunk_tokens)

    @property
    def signature(self) -> str:
        """Changes whenever chunks would come out differently."""
        return (
            f"chunker{CHUNKER_VERSION}:{self.tokens.name}:{self.chunk_tokens}:{self.passage_tokens}"
        )

    def sentences(self, release: Release) -> list[_Sentence]:
        out: list[_Sentence] = []
        for k, para in enumerate(release.paragraphs):
            body = release.text[para.start : para.end]
            spans = sentence_spans(body, para.language)
            merged: list[list[int]] = []
            for s, e in spans:
                short = len(body[s:e].split()) < MIN_WORDS
                previous = body[merged[-1][0] : merged[-1][1]] if merged else ""
                if merged and (
                    short or len(previous.split()) < MIN_WORDS or ABBREVIATION_END.search(previous)
                ):
                    merged[-1][1] = e
                else:
                    merged.append([s, e])
            out.extend(
                _Sentence(para.start + s, para.start + e, k, para.language)
                for s, e in merged
                if len(WORD.findall(body[s:e])) >= 2  # not "---" or a bare release number
            )
        return out

    def chunk(self, release: Release, version: str) -> list[Chunk]:
        sentences = self.sentences(release)
        if not sentences:
            return []
        counts = self.tokens.count_many([release.text[s.start : s.end] for s in sentences])
        # what a passage costs includes the text between its sentences (line breaks,
        # dropped fragments): count each sentence with the gap before it
        gaps = [0] + [s.end for s in sentences[:-1]]
        costs = self.tokens.count_many(
            [release.text[g : s.start] for g, s in zip(gaps, sentences, strict=True)]
        )
        costs = [
            n + (gap if i else 0) for i, (n, gap) in enumerate(zip(counts, costs, strict=True))
        ]

        # passages: pack whole paragraphs; cut an oversized paragraph between sentences
        passages: list[list[int]] = []  # indexes into sentences
        size = 0
        para_tokens: dict[int, int] = {}
        for s, n in zip(sentences, costs, strict=True):
            para_tokens[s.paragraph] = para_tokens.get(s.paragraph, 0) + n
        for i, (s, n) in enumerate(zip(sentences, costs, strict=True)):
            new_paragraph = i == 0 or sentences[i - 1].paragraph != s.paragraph
            fits_whole = new_paragraph and size + para_tokens[s.paragraph] <= self.passage_tokens
            if passages and (fits_whole or (not new_paragraph and size + n <= self.passage_tokens)):
                passages[-1].append(i)
                size += n
            else:
                passages.append([i])
                size = n

        chunks: list[Chunk] = []
        for p_index, members in enumerate(passages):
            parent_id = f"{release.release_id}:{version}:p{p_index}"
            p_start, p_end = sentences[members[0]].start, sentences[members[-1]].end
            for i in members:
                s = sentences[i]
                pieces = [(s.start, s.end)]
                if counts[i] > self.chunk_tokens:
                    body = release.text[s.start : s.end]
                    pieces = [
                        (s.start + a, s.start + b)
                        for a, b in self.tokens.windows(body, self.chunk_tokens)
                    ]
                for start, end in pieces:
                    position = len(chunks)
                    chunks.append(
                        Chunk(
                            chunk_id=f"{release.release_id}:{version}:{position}",
                            release_id=release.release_id,
                            version=version,
                            text=release.text[start:end],
                            position=position,
                            start=start,
                            end=end,
                            language=s.language,
                            parent_id=parent_id,
                            parent_start=p_start,
                            parent_end=p_end,
                        )
                    )
        return chunks
