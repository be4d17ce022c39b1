"""Files and photos of a project: checked by content, photos stripped of metadata.

An upload's type is read from its bytes (magic numbers, then Pillow for
images), never from its name or from the type the client claims; a claim that
the content contradicts is refused. Photos are decoded and encoded again, so
that nothing but pixels survives: no EXIF (GPS positions among them), XMP,
ICC profile or comment. Downloads go through short-lived signed links.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import re
import struct
import time
import unicodedata
from dataclasses import dataclass
from itertools import islice
from typing import Any

from PIL import Image, ImageCms, ImageOps, ImageSequence
from tortoise.transactions import in_transaction

from myco_graph.domain import events
from myco_graph.domain.models import Account, Event, Project, StoredFile
from myco_graph.domain.projects import STAFF, Actor
from myco_graph.errors import BackendUnavailable, BadUserInput, Forbidden
from myco_graph.infrastructure.config import Settings
from myco_graph.infrastructure.storage import Storage, new_key

log = logging.getLogger(__name__)

NAME_MAX = 200
# Pixels of all frames together. Re-encoding holds every decoded frame in
# memory, three or four bytes a pixel: this bounds one upload to about 200 MB
# while letting a 48-megapixel phone photo through.
MAX_PIXELS = 50_000_000

LABELS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/gif": "GIF",
    "application/pdf": "PDF",
}
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/gif": (".gif",),
    "application/pdf": (".pdf",),
}
# Names browsers and old clients give to the types above.
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
# What clients send when they do not know the type: no claim at all.
UNCLAIMED = {"", "application/octet-stream"}
# Types whose every frame is kept. A JPEG may hold more pictures (MPO: depth
# maps, previews, each with its own metadata); only the first one is the photo.
ANIMATED = {"image/png", "image/webp", "image/gif"}
# Image keys kept through re-encoding: they shape how pixels show, say nothing
# about who took the picture, where or with what.
KEPT_INFO = ("transparency", "duration", "loop", "background")
# Pillow's decoders report a malformed or hostile file with any of these (the
# PNG plugin raises SyntaxError, a truncated stream OSError or EOFError).
PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    struct.error,
    Image.DecompressionBombError,
)
SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Incoming:
    """An upload as received: the bytes and what the client says about them."""

    name: str
    claimed_type: str | None
    data: bytes


@dataclass(frozen=True)
class UploadPolicy:
    """What an instance accepts: the largest size, the types, the image size."""

    max_bytes: int
    types: frozenset[str]
    max_pixels: int = MAX_PIXELS

    @classmethod
    def of(cls, settings: Settings) -> UploadPolicy:
        return cls(settings.max_upload_bytes, frozenset(settings.upload_types))

    def accepted(self) -> str:
        return ", ".join(LABELS[kind] for kind in LABELS if kind in self.types)


def sniff(data: bytes) -> str | None:
    """The type the first bytes announce, among those we know; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def checked_type(incoming: Incoming, policy: UploadPolicy) -> str:
    """The content type of an upload, if the policy accepts it and the claim fits."""
    if not incoming.data:
        raise BadUserInput("The file is empty.", field="file")
    if len(incoming.data) > policy.max_bytes:
        raise BadUserInput(
            f"A file has at most {policy.max_bytes:,} bytes.", field="file"
        )
    found = sniff(incoming.data)
    if found is None or found not in policy.types:
        raise BadUserInput(
            f"Only these files are accepted: {policy.accepted()}.", field="file"
        )
    claimed = (incoming.claimed_type or "").split(";")[0].strip().lower()
    claimed = ALIASES.get(claimed, claimed)
    if claimed not in UNCLAIMED and claimed != found:
        raise BadUserInput(
            "The content of the file does not match the type it was sent as.",
            field="file",
        )
    return found


def clean_name(name: str) -> str:
    """A displayable file name: no folders, no control or bidi characters."""
    base = re.split(r"[/\\]", name)[-1]
    printable = "".join(c for c in base if not unicodedata.category(c).startswith("C"))
    cleaned = printable.strip().lstrip(".")[:NAME_MAX].strip()
    if not cleaned:
        raise BadUserInput("A file needs a name.", field="name")
    return cleaned


def download_name(name: str, content_type: str) -> str:
    """The name to save a download under, ending as its type does."""
    extensions = EXTENSIONS[content_type]
    if name.lower().endswith(extensions):
        return name
    return name + extensions[0]


def strip_image(data: bytes, content_type: str, max_pixels: int) -> bytes:
    """The image encoded again, upright, in sRGB, with no metadata at all."""
    try:
        with Image.open(io.BytesIO(data), formats=[IMAGE_FORMATS[content_type]]) as im:
            count = getattr(im, "n_frames", 1) if content_type in ANIMATED else 1
            _check_pixels(im, count, max_pixels)
            pictures = islice(ImageSequence.Iterator(im), count)
            frames = [_clean_frame(frame) for frame in pictures]
            lossless = content_type == "image/webp" and lossless_webp(data)
            return _encode(frames, content_type, lossless=lossless)
    except PILLOW_ERRORS as exc:
        raise BadUserInput("The image could not be read.", field="file") from exc


def lossless_webp(data: bytes) -> bool:
    """Whether a WebP's first picture is a lossless (VP8L) stream, by its chunks."""
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if kind in {b"VP8L", b"VP8 "}:
            return kind == b"VP8L"
        # An animation frame (ANMF) holds its picture's chunks after 16 bytes.
        offset += 8 + (16 if kind == b"ANMF" else size + size % 2)
    return False


def _check_pixels(image: Image.Image, frames: int, max_pixels: int) -> None:
    width, height = image.size
    if width * height * frames > max_pixels:
        raise BadUserInput("The image is too large in pixels.", field="file")


def _clean_frame(frame: Image.Image) -> Image.Image:
    kept: dict[str | tuple[int, int], object]
    kept = {key: frame.info[key] for key in KEPT_INFO if key in frame.info}
    upright = _in_srgb(ImageOps.exif_transpose(frame), frame.info.get("icc_profile"))
    # Pillow writes some metadata back from ``info`` when saving (a JPEG
    # comment, a PNG's ICC profile, a GIF comment): only the kept keys stay.
    upright.info = kept
    return upright


def _in_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """Applies an embedded colour profile, so the image looks the same without it."""
    if not profile or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, SRGB, outputMode=mode)
    except ImageCms.PyCMSError:
        # A profile that lcms cannot read is dropped, as most viewers do.
        return image
    return converted if converted is not None else image


def _encode(frames: list[Image.Image], content_type: str, *, lossless: bool) -> bytes:
    options: dict[str, object] = {}
    if content_type == "image/jpeg":
        options = {"quality": 90}
    elif content_type == "image/webp":
        # A lossless WebP (a VP8L stream) stays lossless.
        options = {"lossless": True} if lossless else {"quality": 90}
    if len(frames) > 1:
        options |= {
            "save_all": True,
            "append_images": frames[1:],
            "duration": [frame.info.get("duration", 100) for frame in frames],
        }
    out = io.BytesIO()
    frames[0].save(out, IMAGE_FORMATS[content_type], **options)
    return out.getvalue()


async def upload(
    project: Project,
    uploader: Account,
    incoming: Incoming,
    policy: UploadPolicy,
    storage: Storage,
) -> StoredFile:
    """Checks, cleans and stores an upload: its bytes, its row and an event."""
    name = clean_name(incoming.name)
    content_type = checked_type(incoming, policy)
    data = incoming.data
    if content_type in IMAGE_FORMATS:
        # Decoding is CPU work: a thread keeps the event loop answering.
        data = await asyncio.to_thread(
            strip_image, data, content_type, policy.max_pixels
        )
    key = new_key()
    await storage.put(key, data)
    try:
        stored, event = await _record(project, uploader, name, content_type, data, key)
    except BaseException:
        # Bytes without a row could never be read nor deleted.
        await _discard(storage, key, None)
        raise
    await events.announce(event)
    return stored


async def _record(
    project: Project,
    uploader: Account,
    name: str,
    content_type: str,
    data: bytes,
    key: str,
) -> tuple[StoredFile, Event]:
    async with in_transaction() as conn:
        stored = await StoredFile.create(
            project=project,
            uploader=uploader,
            name=name,
            content_type=content_type,
            size=len(data),
            storage_key=key,
            using_db=conn,
        )
        event = await events.record(
            conn,
            "file.uploaded",
            account_id=uploader.id,
            project_id=project.id,
            payload={"file": stored.id},
        )
    return stored, event


async def delete(
    stored: StoredFile, account: Account, actor: Actor, storage: Storage
) -> None:
    """Deletes a file, row and bytes; its uploader or the project staff may."""
    if stored.uploader_id != account.id and actor not in STAFF:
        raise Forbidden("Only its uploader or the project's staff delete a file.")
    async with in_transaction() as conn:
        await StoredFile.filter(id=stored.id).using_db(conn).delete()
        event = await events.record(
            conn,
            "file.deleted",
            account_id=account.id,
            project_id=stored.project_id,
            payload={"file": stored.id},
        )
    # The row goes first: bytes left behind by a failure here are unreachable,
    # whereas a row without bytes would be a broken link.
    await _discard(storage, stored.storage_key, stored.id)
    await events.announce(event)


async def _discard(storage: Storage, key: str, file_id: int | None) -> None:
    """Deletes bytes; a failure leaves them unreachable, so it is only logged."""
    try:
        await storage.delete(key)
    except BackendUnavailable:
        log.warning("file bytes not deleted", extra={"file_id": file_id})


async def sweep_orphans(storage: Storage, before: float) -> int:
    """Deletes bytes stored before ``before`` that no file row names.

    They are what an upload left when its process died before its row was
    committed, or a deletion whose bytes could not be removed at the time:
    unreachable, never shown, but still someone's photo on the disk.
    """
    removed = 0
    async for keys in storage.keys_before(before):
        rows = StoredFile.filter(storage_key__in=keys)
        named: set[Any] = set(await rows.values_list("storage_key", flat=True))
        for key in keys:
            if key not in named:
                await _discard(storage, key, None)
                removed += 1
    log.info("swept orphaned file bytes", extra={"count": removed})
    return removed


@dataclass(frozen=True)
class DownloadSigner:
    """Signs and checks download links: HMAC-SHA256 over file, bytes and expiry."""

    secret: bytes
    ttl_seconds: int

    def query(self, stored: StoredFile, now: float | None = None) -> str:
        """``expires=…&signature=…`` for a link valid ``ttl_seconds`` from now."""
        expires = int(now if now is not None else time.time()) + self.ttl_seconds
        return f"expires={expires}&signature={self._sign(stored, str(expires))}"

    def valid(
        self,
        stored: StoredFile,
        expires: str,
        signature: str,
        now: float | None = None,
    ) -> bool:
        """Whether a link's expiry and signature are ours and still good."""
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        expected = self._sign(stored, expires)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _sign(self, stored: StoredFile, expires: str) -> str:
        # The storage key is signed too: a link never outlives the bytes it
        # was made for, even if an id came to be used again.
        message = f"myco-graph file\n{stored.id}\n{stored.storage_key}\n{expires}"
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()


async def by_signed_link(
    file_id: int, expires: str, signature: str, signer: DownloadSigner
) -> StoredFile | None:
    """The file a download link names, if its signature holds; None otherwise."""
    if not 0 < file_id < 2**63:
        return None
    stored = await StoredFile.get_or_none(id=file_id)
    if stored is None or not signer.valid(stored, expires, signature):
        return None
    return stored
