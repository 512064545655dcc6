"""Download a model the user chose from Hugging Face into the models folder.

Each file is written as ``<name>.partial`` beside a plan (``<model id>.download.json``:
repository, commit, files, sizes, SHA-256s), so a download that was cancelled, lost its
connection or outlived Hearth continues where it stopped: the next attempt asks for the
rest with an HTTP Range and hashes the bytes already there first. A file is renamed into
place only when its SHA-256 matches the one Hugging Face publishes (the LFS object id)
and, for a model's first file, its GGUF header reads; a mismatch removes the partial
file. Free disk space is checked before the first byte, and a disk that fills up anyway
leaves no partial file behind. The model then shows in the catalogue like any other.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hearth.jobs import CancelToken
from hearth.models.catalogue import ModelCatalogue, ModelInfo
from hearth.models.gguf_metadata import GGUFFormatError, read_gguf_metadata
from hearth.models.hub import (
    HubError,
    ModelChoice,
    RemoteFile,
    Unreachable,
    describe_failure,
    endpoint_host,
    file_url,
    request_headers,
    user_request,
)
from hearth.models.naming import split_part

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"
PLAN_SUFFIX = ".download.json"
BLOCK = 1024 * 1024
# Room left over on the disk beyond the download itself (the catalogue's files, logs).
DISK_MARGIN = 64 * 1024 * 1024
PROGRESS_INTERVAL = 0.25  # seconds between progress reports
SPEED_WINDOW = 8.0  # seconds of transfer the speed is measured over
RETRIES = 3  # a connection that breaks mid-file is resumed this many times in one go


class DownloadError(HubError):
    """A download failed; str() names the file and the reason in one line."""


@dataclass(frozen=True)
class DownloadPlan:
    """What to fetch for one model, and the names its files get in the models folder."""

    repo_id: str
    revision: str
    quantization: str
    files: tuple[RemoteFile, ...]
    local_names: tuple[str, ...]

    @property
    def model_id(self) -> str:
        return self.local_names[0].removesuffix(".gguf")

    @property
    def total_bytes(self) -> int:
        return sum(file.size for file in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo_id,
            "revision": self.revision,
            "quantization": self.quantization,
            "files": [file.to_json() for file in self.files],
            "local_names": list(self.local_names),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DownloadPlan:
        files = tuple(RemoteFile.from_json(item) for item in raw["files"])
        names = tuple(str(name) for name in raw["local_names"])
        if not files or len(files) != len(names):
            raise ValueError("a plan needs one local name per file")
        return cls(str(raw["repo"]), str(raw["revision"]), str(raw["quantization"]), files, names)

    @classmethod
    def for_choice(cls, choice: ModelChoice, folder: Path) -> DownloadPlan:
        """Local names are the repository's file names, unless another model already has
        one of them; then they carry the owner's name in front."""
        names = tuple(file.name for file in choice.files)
        plan = cls(choice.repo_id, choice.revision, choice.quantization, choice.files, names)
        if plan.conflicts(folder):
            owner = choice.repo_id.split("/")[0]
            names = tuple(f"{owner}-{name}" for name in names)
            plan = cls(choice.repo_id, choice.revision, choice.quantization, choice.files, names)
        return plan

    def conflicts(self, folder: Path) -> bool:
        """Whether another model (or another download) holds one of these names."""
        existing = read_plan(folder / (self.model_id + PLAN_SUFFIX))
        if existing is not None:
            return existing.files != self.files
        for file, name in zip(self.files, self.local_names, strict=True):
            target = folder / name
            if target.exists() and target.stat().st_size != file.size:
                return True
        return False


@dataclass(frozen=True)
class DownloadProgress:
    model_id: str
    done: int
    total: int
    bytes_per_second: float | None  # None until there is a measure
    checking: bool = False  # hashing what is already on disk

    @property
    def seconds_left(self) -> float | None:
        if not self.bytes_per_second:
            return None
        return (self.total - self.done) / self.bytes_per_second

    def rate(self) -> str:
        """ "5.2 MB/s, about 2 min left" (empty until measured)"""
        if not self.bytes_per_second:
            return ""
        left = self.seconds_left
        rate = f"{format_size(int(self.bytes_per_second))}/s"
        return f"{rate}, {format_duration(left)} left" if left is not None else rate

    def describe(self) -> str:
        """ "340 MB of 1.1 GB · 5.2 MB/s · about 2 min left" """
        text = f"{format_size(self.done)} of {format_size(self.total)}"
        if self.checking:
            return f"{text} · checking what is already here"
        if self.bytes_per_second:
            text += f" · {format_size(int(self.bytes_per_second))}/s"
        left = self.seconds_left
        if left is not None:
            text += f" · {format_duration(left)} left"
        return text


def format_size(count: int) -> str:
    if count >= 1024**3:
        return f"{count / 1024**3:.1f} GB"
    if count >= 1024**2:
        return f"{count / 1024**2:.0f} MB"
    return f"{count / 1024:.0f} KB"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


ProgressListener = Callable[[DownloadProgress], None]


class _Meter:
    """Bytes done and the speed over the last few seconds, reported at most 4 times a
    second (and always at the end of a file)."""

    def __init__(self, plan: DownloadPlan, done: int, listener: ProgressListener | None) -> None:
        self.plan = plan
        self.done = done
        self.listener = listener
        self.samples: deque[tuple[float, int]] = deque([(time.monotonic(), done)])
        self.reported = 0.0

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        self.samples.append((now, self.done))
        while len(self.samples) > 2 and now - self.samples[0][0] > SPEED_WINDOW:
            self.samples.popleft()
        if now - self.reported >= PROGRESS_INTERVAL:
            self.report()

    def restart_speed(self) -> None:
        self.samples = deque([(time.monotonic(), self.done)])

    def speed(self) -> float | None:
        (start, start_done), (end, end_done) = self.samples[0], self.samples[-1]
        if end - start < 0.5 or end_done <= start_done:
            return None
        return (end_done - start_done) / (end - start)

    def report(self, checking: bool = False) -> None:
        self.reported = time.monotonic()
        if self.listener is not None:
            self.listener(
                DownloadProgress(
                    self.plan.model_id, self.done, self.plan.total_bytes, self.speed(), checking
                )
            )


def read_plan(path: Path) -> DownloadPlan | None:
    try:
        return DownloadPlan.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ModelDownloader:
    """Downloads into ``catalogue``'s folder, one model per call."""

    def __init__(
        self,
        catalogue: ModelCatalogue,
        endpoint: str,
        token: str | None = None,
        retries: int = RETRIES,
        retry_wait: float = 1.0,
    ) -> None:
        self.catalogue = catalogue
        self.folder = catalogue.folder
        self.endpoint = endpoint
        self.host = endpoint_host(endpoint)
        self.token = token
        self.retries = retries
        self.retry_wait = retry_wait

    # -- what is on disk ------------------------------------------------------------------
    def plan_path(self, plan: DownloadPlan) -> Path:
        return self.folder / (plan.model_id + PLAN_SUFFIX)

    def unfinished(self) -> list[DownloadPlan]:
        """Downloads started and not finished (cancelled, failed, or Hearth closed)."""
        plans = (read_plan(path) for path in sorted(self.folder.glob("*" + PLAN_SUFFIX)))
        return [plan for plan in plans if plan is not None]

    def bytes_on_disk(self, plan: DownloadPlan) -> int:
        done = 0
        for file, name in zip(plan.files, plan.local_names, strict=True):
            target = self.folder / name
            partial = target.with_name(name + PARTIAL_SUFFIX)
            if target.is_file() and target.stat().st_size == file.size:
                done += file.size
            elif partial.is_file():
                done += min(partial.stat().st_size, file.size)
        return done

    def installed(self, plan: DownloadPlan) -> bool:
        return not self.plan_path(plan).exists() and all(
            (self.folder / name).is_file() and (self.folder / name).stat().st_size == file.size
            for file, name in zip(plan.files, plan.local_names, strict=True)
        )

    def discard(self, plan: DownloadPlan) -> None:
        """Remove an unfinished download: its partial files, the parts of a split model it
        finished, and its plan."""
        for name in plan.local_names:
            (self.folder / (name + PARTIAL_SUFFIX)).unlink(missing_ok=True)
            if len(plan.local_names) > 1:
                (self.folder / name).unlink(missing_ok=True)
        self.plan_path(plan).unlink(missing_ok=True)
        log.info("discarded the download of %s", plan.model_id)

    # -- downloading ----------------------------------------------------------------------
    def download(
        self,
        plan: DownloadPlan,
        progress: ProgressListener | None = None,
        cancel: CancelToken | None = None,
    ) -> ModelInfo:
        """Fetch what is missing of ``plan``, verify, rename into place, and return the
        catalogued model. Raises DownloadError (one line), or Cancelled (resumable)."""
        if self.installed(plan):
            return self.catalogue.get(plan.model_id)
        self._check_disk_space(plan)
        self._write_plan(plan)
        log.info(
            "downloading %s from %s/%s@%s (%d bytes)",
            plan.model_id,
            self.host,
            plan.repo_id,
            plan.revision[:12],
            plan.total_bytes,
        )
        meter = _Meter(plan, self.bytes_on_disk(plan), progress)
        meter.report()
        for file, name in zip(plan.files, plan.local_names, strict=True):
            target = self.folder / name
            if target.is_file() and target.stat().st_size == file.size:
                continue  # a part finished (and verified) before
            self._fetch(plan, file, target, meter, cancel)
        meter.report()
        self.plan_path(plan).unlink(missing_ok=True)
        log.info("downloaded %s", plan.model_id)
        return self.catalogue.get(plan.model_id)

    def _check_disk_space(self, plan: DownloadPlan) -> None:
        needed = plan.total_bytes - self.bytes_on_disk(plan)
        free = shutil.disk_usage(self.folder).free
        if free < needed + DISK_MARGIN:
            raise DownloadError(
                f"{plan.local_names[0]}: not enough disk space: it needs "
                f"{format_size(needed)} more, {self.folder} has {format_size(free)} free"
            )

    def _write_plan(self, plan: DownloadPlan) -> None:
        path = self.plan_path(plan)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(plan.to_json(), indent=2), encoding="utf-8")
        os.replace(temporary, path)

    def _fetch(
        self,
        plan: DownloadPlan,
        file: RemoteFile,
        target: Path,
        meter: _Meter,
        cancel: CancelToken | None,
    ) -> None:
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError

        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        url = file_url(self.endpoint, plan.repo_id, plan.revision, file.path)
        digest = _Digest(partial, meter, cancel)
        retries_left = self.retries
        while True:
            have = partial.stat().st_size if partial.exists() else 0
            if have > file.size:  # not this file's beginning: start again
                partial.unlink()
                meter.done -= have
                have = 0
            if have < file.size:
                before = have
                try:
                    with user_request():
                        self._stream(url, partial, have, file, digest, meter, cancel)
                except (httpx2.HTTPError, HfHubHTTPError) as error:
                    got = partial.stat().st_size if partial.exists() else 0
                    if got > before:
                        retries_left = self.retries  # it moved on: a new run of retries
                    broken = not isinstance(error, HfHubHTTPError | Unreachable)
                    if broken and retries_left > 0 and not (cancel and cancel.cancelled):
                        retries_left -= 1
                        log.warning("%s: %s; resuming", file.name, error)
                        time.sleep(self.retry_wait)
                        meter.restart_speed()
                        continue
                    share = f"{100 * got // max(1, file.size)}%"
                    reason = describe_failure(error, self.host, plan.repo_id)
                    raise DownloadError(
                        f"{target.name}: the download stopped at {share}: {reason}; "
                        "starting it again resumes from there"
                    ) from error
                if partial.stat().st_size < file.size:
                    if retries_left > 0:
                        retries_left -= 1
                        continue
                    raise DownloadError(
                        f"{target.name}: {self.host} sent less than the file's "
                        f"{file.size:,} bytes; starting it again resumes from there"
                    )
            break
        self._verify(plan, file, partial, digest)
        os.replace(partial, target)

    def _stream(
        self,
        url: str,
        partial: Path,
        have: int,
        file: RemoteFile,
        digest: _Digest,
        meter: _Meter,
        cancel: CancelToken | None,
    ) -> None:
        from huggingface_hub import get_session, hf_raise_for_status

        headers = request_headers(self.token)
        if have:
            headers["Range"] = f"bytes={have}-"
        with get_session().stream("GET", url, headers=headers) as response:
            hf_raise_for_status(response)
            if have and response.status_code != 206:
                # The server sent the whole file: begin again from its first byte.
                log.info("%s: the server ignored the range; starting the file again", url)
                meter.done -= have
                have = 0
            digest.prepare(have)
            try:
                with partial.open("r+b" if have else "wb") as output:
                    output.seek(have)
                    output.truncate()
                    for chunk in response.iter_bytes():  # as it arrives: a break loses nothing
                        if cancel is not None:
                            cancel.check("the download")
                        write_block(output, chunk)
                        digest.update(chunk)
                        meter.add(len(chunk))
                    output.flush()
                    os.fsync(output.fileno())
            except OSError as error:
                self._write_failed(partial, error)

    def _write_failed(self, partial: Path, error: OSError) -> None:
        """Nothing half-written stays: the partial file goes, and with it the plan if no
        other part of the model is here."""
        partial.unlink(missing_ok=True)
        name = partial.name.removesuffix(PARTIAL_SUFFIX)
        for path in self.folder.glob("*" + PLAN_SUFFIX):
            plan = read_plan(path)
            if plan is not None and name in plan.local_names and self.bytes_on_disk(plan) == 0:
                path.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(
                f"{name}: the disk is full ({self.folder}); the unfinished file was removed"
            ) from error
        raise DownloadError(
            f"{name}: could not write to {self.folder} ({error.strerror or error}); "
            "the unfinished file was removed"
        ) from error

    def _verify(self, plan: DownloadPlan, file: RemoteFile, partial: Path, digest: _Digest) -> None:
        name = partial.name.removesuffix(PARTIAL_SUFFIX)
        actual = digest.hexdigest(partial.stat().st_size)
        if file.sha256 is not None and actual != file.sha256:
            partial.unlink(missing_ok=True)
            raise DownloadError(
                f"{name}: the download does not match the SHA-256 Hugging Face publishes for "
                f"it ({actual[:12]}…, expected {file.sha256[:12]}…); the file was removed"
            )
        if file.sha256 is None:
            log.warning("%s: no published SHA-256 to check against (size checked)", name)
        part = split_part(name)
        if part is None or part.index == 1:
            try:
                read_gguf_metadata(partial)
            except GGUFFormatError as error:
                partial.unlink(missing_ok=True)
                raise DownloadError(f"{name}: not a usable GGUF model ({error})") from error


def write_block(output: BinaryIO, block: bytes) -> None:
    """One write to a partial file (where a full disk shows: tests stand in a full one)."""
    output.write(block)


class _Digest:
    """SHA-256 of a partial file as it grows; what was already on disk is read first."""

    def __init__(self, partial: Path, meter: _Meter, cancel: CancelToken | None) -> None:
        self.partial = partial
        self.meter = meter
        self.cancel = cancel
        self.hasher = hashlib.sha256()
        self.count = 0

    def prepare(self, have: int) -> None:
        """Bring the hash to the first ``have`` bytes of the partial file."""
        if self.count == have:
            return
        self.hasher = hashlib.sha256()
        self.count = 0
        if have == 0:
            return
        self.meter.report(checking=True)
        with self.partial.open("rb") as handle:
            while self.count < have:
                if self.cancel is not None:
                    self.cancel.check("the download")
                block = handle.read(min(BLOCK, have - self.count))
                if not block:
                    break
                self.update(block)

    def update(self, block: bytes) -> None:
        self.hasher.update(block)
        self.count += len(block)

    def hexdigest(self, size: int) -> str:
        self.prepare(size)
        return self.hasher.hexdigest()
