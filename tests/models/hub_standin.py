"""A stand-in for the Hugging Face Hub on 127.0.0.1, for tests without the internet.

It speaks the part of the Hub's API that huggingface_hub 2.4 calls for Hearth:
``GET /api/models?search=&filter=gguf&sort=downloads&limit=`` (HfApi.list_models),
``GET /api/models/{owner}/{name}?blobs=True`` (HfApi.model_info with the files' LFS
size and SHA-256), and ``GET /{owner}/{name}/resolve/{revision}/{path}`` (hf_hub_url)
with HTTP Range. Errors carry the Hub's X-Error-Code header, which huggingface_hub turns
into RepositoryNotFoundError or GatedRepoError. Tests can make it close the connection
part way through a file, send slowly, or publish a wrong checksum, and read back every
request it saw.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SEND_BLOCK = 64 * 1024


def make_gguf(
    path: Path,
    quantization: str,
    weight_bytes: int,
    name: str = "Qwen2.5 1.5B Instruct",
    seed: int = 0,
    extra: dict[str, int] | None = None,
) -> Path:
    """A small real GGUF with a Qwen2.5-1.5B-like header (28 layers, 1536 wide, 2 KV heads)
    and ``weight_bytes`` of random weights (random, so a resume at the wrong offset
    cannot pass its checksum), labelled with ``quantization``'s file type."""
    from gguf import GGUFWriter
    from gguf.constants import LlamaFileType

    writer = GGUFWriter(str(path), "qwen2")
    writer.add_name(name)
    writer.add_file_type(LlamaFileType[f"MOSTLY_{quantization}"].value)
    writer.add_context_length(32768)
    writer.add_block_count(28)
    writer.add_embedding_length(1536)
    writer.add_head_count(12)
    writer.add_head_count_kv(2)
    writer.add_token_list([f"t{index}" for index in range(500)])
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    for key, value in (extra or {}).items():
        writer.add_uint32(key, value)
    weights = np.random.default_rng(seed).standard_normal(weight_bytes // 4).astype(np.float32)
    writer.add_tensor("token_embd.weight", weights.reshape(-1, 64))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass
class HostedFile:
    path: str
    source: bytes | Path
    published_sha256: str | None = None  # None: the real one

    @property
    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.stat().st_size

    def sha256(self) -> str:
        if self.published_sha256 is not None:
            return self.published_sha256
        digest = hashlib.sha256()
        if isinstance(self.source, bytes):
            digest.update(self.source)
        else:
            with self.source.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()

    def read(self, start: int, end: int) -> bytes:
        if isinstance(self.source, bytes):
            return self.source[start:end]
        with self.source.open("rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


@dataclass
class HostedRepo:
    repo_id: str
    files: list[HostedFile]
    downloads: int = 0
    likes: int = 0
    gated: bool = False
    parameters: int = 1_543_714_304

    def file(self, path: str) -> HostedFile | None:
        return next((f for f in self.files if f.path == path), None)


@dataclass
class SeenRequest:
    method: str
    path: str
    range: str | None
    authorization: str | None
    query: dict[str, list[str]] = field(default_factory=dict)


class HubStandIn:
    def __init__(self) -> None:
        self.repos: dict[str, HostedRepo] = {}
        self.requests: list[SeenRequest] = []
        # path -> file offset: a response for that file stops and the connection closes
        # once the file's bytes up to that offset are sent.
        self.cut_at: dict[str, int] = {}
        self.cut_once = False  # True: each cut happens to one response only
        self.bytes_per_second: int | None = None  # None: as fast as it goes
        self.token: str | None = None  # a gated repository's files need it
        self._hashes: dict[tuple[str, str], str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, repo: HostedRepo) -> HostedRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def downloads_of(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + path)]

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sha256(self, repo: HostedRepo, hosted: HostedFile) -> str:
        key = (repo.repo_id, hosted.path)
        if hosted.published_sha256 is not None:
            return hosted.published_sha256
        if key not in self._hashes:
            self._hashes[key] = hosted.sha256()
        return self._hashes[key]

    # -- the Hub's answers ----------------------------------------------------------------
    def search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        words = " ".join(query.get("search", [""])).lower().split()
        wanted = query.get("filter", [])
        found = [
            repo
            for repo in self.repos.values()
            if all(word in repo.repo_id.lower() for word in words)
            and ("gguf" not in wanted or any(f.path.endswith(".gguf") for f in repo.files))
        ]
        found.sort(key=lambda repo: repo.downloads, reverse=True)
        limit = int(query.get("limit", ["1000"])[0])
        return [self.summary(repo) for repo in found[:limit]]

    def summary(self, repo: HostedRepo) -> dict[str, Any]:
        return {
            "_id": repo.repo_id,
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "downloads": repo.downloads,
            "likes": repo.likes,
            "gated": "auto" if repo.gated else False,
            "private": False,
            "tags": ["gguf"],
            "library_name": "gguf",
            "createdAt": "2024-09-19T00:00:00.000Z",
        }

    def info(self, repo: HostedRepo, blobs: bool) -> dict[str, Any]:
        siblings: list[dict[str, Any]] = []
        for hosted in repo.files:
            sibling: dict[str, Any] = {"rfilename": hosted.path}
            if blobs:
                sibling["size"] = hosted.size
                sibling["blobId"] = hashlib.sha1(hosted.path.encode()).hexdigest()
                if hosted.path.endswith(".gguf"):
                    sibling["lfs"] = {
                        "sha256": self.sha256(repo, hosted),
                        "size": hosted.size,
                        "pointerSize": 135,
                    }
            siblings.append(sibling)
        return {
            **self.summary(repo),
            "sha": COMMIT,
            "siblings": siblings,
            "gguf": {"total": repo.parameters, "architecture": "qwen2", "context_length": 32768},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                query = parse_qs(parts.query)
                hub.requests.append(
                    SeenRequest(
                        self.command,
                        path,
                        self.headers.get("Range"),
                        self.headers.get("Authorization"),
                        query,
                    )
                )
                if path == "/api/models":
                    self._json(200, hub.search(query))
                    return
                match = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
                if match:
                    repo = hub.repos.get(match[1])
                    if repo is None:
                        self._json(
                            404,
                            {"error": "Repository not found"},
                            {"X-Error-Code": "RepoNotFound"},
                        )
                        return
                    self._json(200, hub.info(repo, "blobs" in query))
                    return
                match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                repo = hub.repos.get(match[1]) if match else None
                hosted = repo.file(match[3]) if repo and match else None
                if match is None or repo is None or hosted is None:
                    self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                    return
                if repo.gated and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    self._json(
                        403,
                        {"error": "Access to this model is restricted"},
                        {"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"},
                    )
                    return
                self._send_file(hosted, head)

            def _send_file(self, hosted: HostedFile, head: bool) -> None:
                # The client may stop reading (a cancel).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send_range(hosted, head)

            def _send_range(self, hosted: HostedFile, head: bool) -> None:
                size = hosted.size
                start, end = 0, size
                wanted = self.headers.get("Range")
                status = 200
                if wanted:
                    match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
                    assert match is not None, wanted
                    start = int(match[1])
                    end = min(size, int(match[2]) + 1) if match[2] else size
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(end - start))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("ETag", f'"{hub.sha256(hub.repos_of(hosted), hosted)}"')
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
                self.end_headers()
                if head:
                    return
                cut = hub.cut_at.get(hosted.path)
                position = start
                while position < end:
                    stop = min(end, position + SEND_BLOCK)
                    if cut is not None and cut < stop:
                        stop = cut
                    if stop > position:
                        self.wfile.write(hosted.read(position, stop))
                        self.wfile.flush()
                    position = stop
                    if cut is not None and position >= cut:
                        if hub.cut_once:
                            hub.cut_at.pop(hosted.path, None)
                        self.close_connection = True
                        self.connection.shutdown(2)  # the connection drops mid-file
                        return
                    if hub.bytes_per_second:
                        time.sleep(SEND_BLOCK / hub.bytes_per_second)

        return Handler

    def repos_of(self, hosted: HostedFile) -> HostedRepo:
        return next(repo for repo in self.repos.values() if hosted in repo.files)
