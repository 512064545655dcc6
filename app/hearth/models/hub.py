"""Find GGUF models on Hugging Face (or a mirror of it), only when the user asks.

Hearth runs with huggingface_hub's offline mode on (hearth.offline), so nothing reaches
the Hub by itself. A search, a listing or a download the user started runs inside
``user_request()``, which lets exactly those calls through: the client installed here
refuses every other request as huggingface_hub itself would. The Hub's API is spoken by
huggingface_hub (``HfApi.list_models``, ``HfApi.model_info`` with the files' LFS
metadata, ``hf_hub_url``); what Hearth adds is the choice a user needs: a repository's
GGUF files as models (a split GGUF's parts are one), each with its size, the memory it
would take (the file's own header, read from its first bytes, through models/ram.py),
whether that suits this computer, and the quantisation to take.

The endpoint is $HF_ENDPOINT, else the ``hf_endpoint`` setting, else huggingface.co. A
token for gated repositories is $HF_TOKEN, else the one the user saved in Hearth's data
folder (owner-only permissions); it is sent only to the endpoint and never logged.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx2

from hearth import __version__
from hearth.errors import InputError
from hearth.models.catalogue import MemoryFit, ModelError, fit_on_this_computer
from hearth.models.gguf_metadata import GGUFFormatError, GGUFMetadata, read_gguf_fields
from hearth.models.naming import clean_model_name, quantization_in_name, split_part
from hearth.models.ram import RamEstimate, estimate_ram
from hearth.paths import HearthPaths, hearth_paths

if TYPE_CHECKING:
    from hearth.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
TOKEN_FILE = "hf-token"
SEARCH_LIMIT = 30
# A GGUF's architecture values and its vocabulary's length sit in its first few hundred
# kilobytes (Qwen2.5: the first 256 KiB); a long chat template or licence can push them
# further.
HEADER_BYTES = 256 * 1024
HEADER_BYTES_MAX = 8 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
# Quantisations in the order Hearth suggests them: Q4_K_M is the usual balance of quality
# and speed on a CPU (every token reads all the weights, so a larger file answers more
# slowly), then the other 4-bit kinds, then 5- and 6-bit, then smaller ones.
QUANT_PREFERENCE = (
    "Q4_K_M",
    "Q4_K_S",
    "IQ4_XS",
    "IQ4_NL",
    "Q4_0",
    "Q5_K_M",
    "Q5_K_S",
    "Q6_K",
    "Q3_K_L",
    "Q3_K_M",
    "IQ3_M",
    "Q8_0",
    "Q3_K_S",
    "IQ3_XS",
    "Q2_K",
)
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class HubError(ModelError):
    """Searching or downloading failed; str() is one line for the user."""


class HubInputError(HubError, InputError):
    """What the user asked for names nothing: a malformed address, an unknown repository,
    a file or quantisation the repository does not have."""


# -- settings: endpoint and token -----------------------------------------------------------
def hub_endpoint(settings: Settings | None = None) -> str:
    """$HF_ENDPOINT, else the hf_endpoint setting, else huggingface.co (no trailing /)."""
    from_environment = os.environ.get("HF_ENDPOINT", "").strip()
    if from_environment:
        return from_environment.rstrip("/")
    if settings is None:
        from hearth.settings import load_settings

        settings = load_settings()
    return (settings.hf_endpoint or DEFAULT_ENDPOINT).rstrip("/")


def endpoint_host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def token_path(paths: HearthPaths | None = None) -> Path:
    return (paths or hearth_paths()).data / TOKEN_FILE


def load_token(paths: HearthPaths | None = None) -> str | None:
    """$HF_TOKEN, else the saved token, else None."""
    from_environment = os.environ.get("HF_TOKEN", "").strip()
    if from_environment:
        return from_environment
    try:
        saved = token_path(paths).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return saved or None


def save_token(token: str, paths: HearthPaths | None = None) -> Path:
    """Keep ``token`` in the data folder, readable by the user only."""
    token = token.strip()
    if not token or any(character.isspace() for character in token) or not token.isprintable():
        raise HubInputError("a Hugging Face token is one word (it starts with hf_)")
    path = token_path(paths)
    temporary = path.with_name(path.name + ".tmp")
    # Created 0600 from the start (not chmod-ed after), so it is never readable by others.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(token)
    os.replace(temporary, path)
    log.info("saved a Hugging Face token in %s", path)
    return path


def forget_token(paths: HearthPaths | None = None) -> bool:
    path = token_path(paths)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


# -- requests the user started -------------------------------------------------------------
_USER_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hearth_hub_user_request", default=False
)
_install_lock = threading.Lock()
_installed = False


def _request_hook(request: httpx2.Request) -> None:
    if not _USER_REQUEST.get():
        # Anyone else's request (a library looking for a model by name) is treated as
        # huggingface_hub treats it: refused while offline mode is on.
        from huggingface_hub.utils._http import hf_request_event_hook

        hf_request_event_hook(request)
        return
    timeout = request.extensions.get("timeout") or {}
    if not any(timeout.values()):  # huggingface_hub passes none: a dead network would hang
        request.extensions["timeout"] = {
            "connect": CONNECT_TIMEOUT,
            "read": READ_TIMEOUT,
            "write": READ_TIMEOUT,
            "pool": CONNECT_TIMEOUT,
        }


class Unreachable(httpx2.TransportError):
    """The endpoint could not be reached at all (refused, no such name, no answer to the
    connection): said at once, where huggingface_hub would wait and retry for 23 s."""


class _Transport(httpx2.HTTPTransport):
    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return super().handle_request(request)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
            if not _USER_REQUEST.get():
                raise
            # Not one of the kinds huggingface_hub retries (a user is waiting for an answer).
            raise Unreachable(str(error), request=request) from error


def _new_client() -> httpx2.Client:
    return httpx2.Client(
        transport=_Transport(),
        event_hooks={"request": [_request_hook]},
        follow_redirects=True,
        timeout=None,
    )


def _install_client() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            from huggingface_hub import set_client_factory

            set_client_factory(_new_client)
            _installed = True


@contextmanager
def user_request() -> Iterator[None]:
    """Let huggingface_hub reach the endpoint for what runs inside (on this thread)."""
    _install_client()
    token = _USER_REQUEST.set(True)
    try:
        yield
    finally:
        _USER_REQUEST.reset(token)


def describe_failure(error: BaseException, host: str, repo_id: str | None = None) -> str:
    """One line for a failed request to the Hub."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    what = repo_id or "the model"
    if isinstance(error, Unreachable) and isinstance(error.__cause__, httpx2.HTTPError):
        error = error.__cause__
    if isinstance(error, GatedRepoError):
        return (
            f"{what} is gated: accept its terms on {host}/{what}, then add your Hugging Face "
            "token (Get models → Token, or hearth models token)"
        )
    if isinstance(error, RepositoryNotFoundError):
        return f"no model repository named '{what}' on {host}"
    if isinstance(error, RevisionNotFoundError | RemoteEntryNotFoundError):
        return f"{what} on {host} no longer has that file (search again)"
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "an error"
        return f"{host} answered {status} for {what}"
    if isinstance(error, HFValidationError):
        return f"'{what}' is not a repository name (owner/name)"
    if isinstance(error, httpx2.ConnectError):
        detail = str(error).lower()
        if "refused" in detail:
            reason = "connection refused"
        elif "name" in detail or "resolution" in detail or "known" in detail:
            reason = "the name does not resolve: no network?"
        else:
            reason = str(error).splitlines()[0] if str(error) else "no connection"
        return (
            f"cannot reach {host} ({reason}); check the network connection, or the "
            "Hugging Face endpoint (HF_ENDPOINT or hf_endpoint in the settings)"
        )
    if isinstance(error, httpx2.TimeoutException):
        return f"{host} did not answer in time; check the network connection"
    if isinstance(error, httpx2.HTTPError):
        return f"the connection to {host} broke ({type(error).__name__})"
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


@contextmanager
def hub_call(endpoint: str, repo_id: str | None = None) -> Iterator[None]:
    """A user-started request; any failure of it becomes a HubError of one line (a
    HubInputError where the name the user gave is no repository)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    try:
        with user_request():
            yield
    except (httpx2.HTTPError, HfHubHTTPError, HFValidationError) as error:
        # A gated repository exists (GatedRepoError is a RepositoryNotFoundError): a token
        # is missing, not the name wrong.
        names_nothing = isinstance(
            error, RepositoryNotFoundError | HFValidationError
        ) and not isinstance(error, GatedRepoError)
        kind = HubInputError if names_nothing else HubError
        raise kind(describe_failure(error, endpoint_host(endpoint), repo_id)) from error


def request_headers(token: str | None) -> dict[str, str]:
    from huggingface_hub.utils._headers import build_hf_headers

    # token=False: never the token huggingface_hub may have stored for the user elsewhere.
    headers: dict[str, str] = build_hf_headers(
        token=token or False, library_name="hearth", library_version=__version__
    )
    return headers


def file_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo_id, path, revision=revision, endpoint=endpoint)


# -- what the user typed ---------------------------------------------------------------------
@dataclass(frozen=True)
class RepoReference:
    repo_id: str
    file: str | None = None


def parse_reference(text: str) -> RepoReference | None:
    """``owner/name`` or a pasted address of a repository or of one of its files
    (https://huggingface.co/owner/name/blob/main/model-Q4_K_M.gguf); None for words."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        parts = [unquote(part) for part in urlsplit(text).path.strip("/").split("/") if part]
        if parts[:1] == ["models"]:
            parts = parts[1:]
        if len(parts) < 2 or not REPO_ID.match(f"{parts[0]}/{parts[1]}"):
            raise HubInputError(f"{text} is not the address of a model repository")
        file = None
        if len(parts) >= 5 and parts[2] in ("blob", "resolve") and parts[-1].endswith(".gguf"):
            file = "/".join(parts[4:])
        return RepoReference(f"{parts[0]}/{parts[1]}", file)
    if REPO_ID.match(text):
        return RepoReference(text)
    return None


# -- search ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepoSummary:
    repo_id: str
    downloads: int
    likes: int
    gated: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo_id,
            "downloads": self.downloads,
            "likes": self.likes,
            "gated": self.gated,
        }


def _summary(info: Any) -> RepoSummary:
    return RepoSummary(
        repo_id=str(info.id),
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        gated=bool(info.gated),
    )


def _api(endpoint: str, token: str | None) -> Any:
    from huggingface_hub import HfApi

    return HfApi(
        endpoint=endpoint, token=token or False, library_name="hearth", library_version=__version__
    )


def search_models(
    query: str, settings: Settings | None = None, limit: int = SEARCH_LIMIT
) -> list[RepoSummary]:
    """Repositories holding GGUF files: by words (most downloaded first), or the one an
    ``owner/name`` or an address names."""
    endpoint = hub_endpoint(settings)
    token = load_token()
    reference = parse_reference(query)
    api = _api(endpoint, token)
    if reference is not None:
        with hub_call(endpoint, reference.repo_id):
            return [_summary(api.model_info(reference.repo_id, timeout=READ_TIMEOUT))]
    words = " ".join(query.split())
    if not words:
        raise HubInputError("type a few words of the model's name, owner/name, or its address")
    with hub_call(endpoint):
        found = api.list_models(search=words, filter="gguf", sort="downloads", limit=limit)
        return [_summary(info) for info in found]


# -- a repository's files ----------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteFile:
    path: str  # in the repository
    size: int
    sha256: str | None  # the LFS object id Hugging Face publishes (None: not in LFS)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RemoteFile:
        sha256 = raw.get("sha256")
        return cls(str(raw["path"]), int(raw["size"]), str(sha256) if sha256 else None)


@dataclass(frozen=True)
class ModelChoice:
    """One model a repository offers: a GGUF file, or a split GGUF's parts."""

    repo_id: str
    revision: str  # the commit the listing saw: a resumed download gets the same bytes
    quantization: str
    files: tuple[RemoteFile, ...]
    ram: RamEstimate
    fit: MemoryFit
    recommended: bool = False

    @property
    def size_bytes(self) -> int:
        return sum(file.size for file in self.files)

    @property
    def file_name(self) -> str:
        """The first file's name (a split model is loaded by its first part)."""
        return self.files[0].name

    @property
    def model_id(self) -> str:
        return self.file_name.removesuffix(".gguf")

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo_id,
            "revision": self.revision,
            "quantization": self.quantization,
            "files": [file.to_json() for file in self.files],
            "size_bytes": self.size_bytes,
            "estimated_ram_bytes": self.ram.total_bytes,
            "fit": self.fit.value,
            "recommended": self.recommended,
        }


@dataclass(frozen=True)
class RepoListing:
    repo_id: str
    revision: str
    name: str  # the model's name as the first file's header gives it
    gated: bool
    choices: list[ModelChoice] = field(default_factory=list)
    # Set when the memory estimate counts the files alone (the header could not be read).
    estimate_note: str | None = None

    @property
    def recommended(self) -> ModelChoice | None:
        return next((choice for choice in self.choices if choice.recommended), None)

    def choose(self, file: str | None = None, quantization: str | None = None) -> ModelChoice:
        """The choice holding ``file``, or of ``quantization``, or the recommended one."""
        if file is not None:
            wanted = file.rsplit("/", 1)[-1]
            for choice in self.choices:
                if any(f.path == file or f.name == wanted for f in choice.files):
                    return choice
            raise HubInputError(f"{self.repo_id} has no GGUF file named {file}")
        if quantization is not None:
            matching = [c for c in self.choices if c.quantization == quantization.upper()]
            if not matching:
                offered = ", ".join(sorted({c.quantization for c in self.choices}))
                raise HubInputError(
                    f"{self.repo_id} has no {quantization.upper()} file (it has {offered})"
                )
            return next((c for c in matching if c.recommended), matching[0])
        if self.recommended is None:
            raise HubInputError(
                f"none of {self.repo_id}'s files fits this computer's memory; name one "
                "with --quant or FILE to download it anyway"
            )
        return self.recommended

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo_id,
            "revision": self.revision,
            "name": self.name,
            "gated": self.gated,
            "estimate_note": self.estimate_note,
            "choices": [choice.to_json() for choice in self.choices],
        }


def _gguf_groups(siblings: list[Any]) -> list[tuple[RemoteFile, ...]]:
    """GGUF model files, a split model's parts together and in order; projector files
    (mmproj, for images) and incomplete split sets left out."""
    singles: list[tuple[RemoteFile, ...]] = []
    splits: dict[tuple[str, int], dict[int, RemoteFile]] = {}
    for sibling in siblings:
        path = str(sibling.rfilename)
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".gguf") or "mmproj" in name.lower():
            continue
        lfs = sibling.lfs
        remote = RemoteFile(
            path=path,
            size=int(lfs.size if lfs is not None else sibling.size or 0),
            sha256=str(lfs.sha256) if lfs is not None else None,
        )
        part = split_part(name)
        if part is None:
            singles.append((remote,))
        else:
            folder = path.rsplit("/", 1)[0] if "/" in path else ""
            splits.setdefault((f"{folder}/{part.base}", part.count), {})[part.index] = remote
    for (_, count), parts in splits.items():
        if sorted(parts) == list(range(1, count + 1)):
            singles.append(tuple(parts[index] for index in range(1, count + 1)))
    return singles


def read_remote_head(url: str, token: str | None, size: int) -> bytes:
    """The first ``size`` bytes of a file (a Range request; read no further if the server
    sends the whole file)."""
    from huggingface_hub import get_session, hf_raise_for_status

    headers = {**request_headers(token), "Range": f"bytes=0-{size - 1}"}
    head = bytearray()
    with get_session().stream("GET", url, headers=headers) as response:
        hf_raise_for_status(response)
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= size:
                break
    return bytes(head[:size])


def _header_metadata(
    endpoint: str, token: str | None, repo_id: str, revision: str, first: RemoteFile
) -> GGUFMetadata:
    """What the file's header says, read from its first bytes (more only if needed)."""
    url = file_url(endpoint, repo_id, revision, first.path)
    size = HEADER_BYTES
    while True:
        head = read_remote_head(url, token, min(size, first.size))
        header = read_gguf_fields(head)
        architecture = header.fields.get("general.architecture")
        enough = architecture is not None and (
            f"{architecture}.block_count" in header.fields
            and "tokenizer.ggml.tokens" in header.array_lengths
        )
        if header.complete or enough or size >= HEADER_BYTES_MAX or len(head) < size:
            break
        size *= 4
    if "general.architecture" not in header.fields:
        raise GGUFFormatError("the GGUF header names no model architecture")
    return GGUFMetadata(
        path=Path(first.name),
        version=header.version,
        fields=header.fields,
        array_lengths=header.array_lengths,
        file_size=first.size,
        parameter_count=0,
        weights_bytes=first.size,
        quantization=quantization_in_name(first.name) or "unknown",
    )


def _mark_recommended(choices: list[ModelChoice]) -> list[ModelChoice]:
    def rank(choice: ModelChoice) -> tuple[int, int]:
        quant = choice.quantization
        order = (
            QUANT_PREFERENCE.index(quant) if quant in QUANT_PREFERENCE else len(QUANT_PREFERENCE)
        )
        return order, -choice.size_bytes

    fitting = sorted((c for c in choices if c.fit is MemoryFit.FITS), key=rank)
    if not fitting:
        return choices
    best = fitting[0]
    return [
        dataclasses.replace(choice, recommended=True) if choice is best else choice
        for choice in choices
    ]


def list_repo(
    repo_id: str,
    settings: Settings | None = None,
    n_ctx: int | None = None,
    total_memory: int | None = None,
) -> RepoListing:
    """``repo_id``'s GGUF models, smallest first, each with its memory estimate at
    ``n_ctx`` (the context setting) and whether it suits ``total_memory`` (this computer's)."""
    from hearth.machine import total_memory_bytes

    if settings is None:
        from hearth.settings import load_settings

        settings = load_settings()
    endpoint = hub_endpoint(settings)
    token = load_token()
    n_ctx = settings.n_ctx if n_ctx is None else n_ctx
    total_memory = total_memory_bytes() if total_memory is None else total_memory
    api = _api(endpoint, token)
    with hub_call(endpoint, repo_id):
        info = api.model_info(repo_id, files_metadata=True, timeout=READ_TIMEOUT)
    revision = str(info.sha or "main")
    groups = sorted(_gguf_groups(info.siblings or []), key=lambda g: sum(f.size for f in g))
    name = repo_id.split("/")[-1]
    if not groups:
        return RepoListing(repo_id, revision, name, bool(info.gated))
    header: GGUFMetadata | None = None
    note = None
    try:
        with hub_call(endpoint, repo_id):
            header = _header_metadata(endpoint, token, repo_id, revision, groups[0][0])
    except (HubError, GGUFFormatError) as error:
        note = f"memory estimated from the file sizes alone (the header was unreadable: {error})"
        log.warning("%s: %s", repo_id, note)
    if header is not None:
        named = header.fields.get("general.name")
        name = clean_model_name(str(named), header.size_label) if named else name
        parameters = (info.gguf or {}).get("total") if isinstance(info.gguf, dict) else None
        header.parameter_count = int(parameters or 0)
    choices = []
    for files in groups:
        size = sum(file.size for file in files)
        if header is not None:
            metadata = dataclasses.replace(header, file_size=size, weights_bytes=size)
            ram = estimate_ram(metadata, n_ctx)
        else:
            ram = RamEstimate(weights_bytes=size, kv_cache_bytes=0, compute_bytes=0)
        quant = quantization_in_name(files[0].name) or "unknown"
        choices.append(
            ModelChoice(
                repo_id=repo_id,
                revision=revision,
                quantization=quant,
                files=files,
                ram=ram,
                fit=fit_on_this_computer(ram, total_memory),
            )
        )
    return RepoListing(repo_id, revision, name, bool(info.gated), _mark_recommended(choices), note)
