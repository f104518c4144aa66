"""A scripted OpenAI-compatible chat server on 127.0.0.1 (stdlib only), for the tests.

It answers every chat completion with ``reply`` (streaming or not, as asked), where
``{word}`` is replaced by the number of the first passage in the prompt whose text holds
``word`` (so a script can cite the right passage whatever the retrieval order). ``reply``
may also be a function of the prompt (one script for a whole question set). Every
request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PASSAGE = re.compile(r'<passage-(\w+) n="(\d+)"[^>]*>\n(.*?)\n</passage-\1>', re.S)


def resolve(reply: str, prompt: str) -> str:
    passages = [(int(n), text) for _, n, text in PASSAGE.findall(prompt)]

    def number(m: re.Match[str]) -> str:
        word = m.group(1)
        return str(next((n for n, text in passages if word in text), 0))

    return re.sub(r"\{(\w+)\}", number, reply)


class ScriptedServer:
    def __init__(self) -> None:
        self.reply: str | Callable[[str], str] = "NOT_IN_RELEASES"
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
                reply = server.reply(prompt) if callable(server.reply) else server.reply
                text = resolve(reply, prompt)
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    words = re.findall(r"\S+\s*", text)
                    for i in range(0, len(words), 3):  # a few words per chunk
                        delta = {"content": "".join(words[i : i + 3])}
                        self._event(delta, None)
                    self._event({}, "stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                payload = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _event(self, delta: dict[str, str], finish: str | None) -> None:
                chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "scripted",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
