from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin
from pydantic import ValidationError

from myco_graph.domain import files
from myco_graph.domain.files import DownloadSigner, Incoming, UploadPolicy
from myco_graph.domain.models import Event, StoredFile
from myco_graph.domain.projects import Actor
from myco_graph.errors import BadUserInput, Forbidden, NotFound
from myco_graph.infrastructure.config import UPLOAD_TYPES, Settings
from myco_graph.infrastructure.storage import LocalStorage, new_key
from tests.project_support import (
    MINIMAL_PDF,
    jpeg_with_gps,
    make_account,
    make_project,
    png,
)

POLICY = UploadPolicy(max_bytes=100_000, types=frozenset(UPLOAD_TYPES))


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def jpeg_exif() -> Image.Exif:
    return opened(jpeg_with_gps()).getexif()


def stored_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def png_header(width: int, height: int) -> bytes:
    """The first chunks of a PNG that claims a size, with almost no pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"")


# Recognising the type -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (jpeg_with_gps(), "image/jpeg"),
        (png(), "image/png"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (MINIMAL_PDF, "application/pdf"),
        (b"just some text", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    ],
)
def test_the_type_is_read_from_the_first_bytes(
    data: bytes, expected: str | None
) -> None:
    assert files.sniff(data) == expected


def test_every_type_an_instance_may_allow_is_recognised() -> None:
    assert set(files.LABELS) == set(UPLOAD_TYPES) == set(files.EXTENSIONS)


def test_a_type_the_server_cannot_recognise_is_not_a_setting() -> None:
    with pytest.raises(ValidationError):
        Settings(upload_types=["text/plain"])


def test_a_png_sent_as_a_jpeg_is_refused() -> None:
    incoming = Incoming("photo.jpg", "image/jpeg", png())

    with pytest.raises(BadUserInput, match="does not match"):
        files.checked_type(incoming, POLICY)


@pytest.mark.parametrize("claimed", [None, "", "application/octet-stream"])
def test_an_upload_without_a_claimed_type_is_taken_for_its_content(
    claimed: str | None,
) -> None:
    incoming = Incoming("photo", claimed, png())

    assert files.checked_type(incoming, POLICY) == "image/png"


def test_the_old_name_image_jpg_still_counts_as_jpeg() -> None:
    incoming = Incoming("photo.jpg", "image/jpg", jpeg_with_gps())

    assert files.checked_type(incoming, POLICY) == "image/jpeg"


def test_a_text_file_is_refused_whatever_it_claims() -> None:
    incoming = Incoming("notes.png", "image/png", b"just some text")

    with pytest.raises(BadUserInput, match="Only these files are accepted"):
        files.checked_type(incoming, POLICY)


def test_a_type_the_instance_does_not_allow_is_refused() -> None:
    photos_only = UploadPolicy(max_bytes=100_000, types=frozenset({"image/jpeg"}))

    with pytest.raises(BadUserInput, match=r"accepted: JPEG\.$"):
        files.checked_type(Incoming("a.pdf", None, MINIMAL_PDF), photos_only)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(BadUserInput, match="empty"):
        files.checked_type(Incoming("empty.png", None, b""), POLICY)


def test_a_file_over_the_limit_is_refused() -> None:
    small = UploadPolicy(max_bytes=10, types=frozenset(UPLOAD_TYPES))

    with pytest.raises(BadUserInput, match="at most 10 bytes"):
        files.checked_type(Incoming("a.pdf", None, MINIMAL_PDF), small)


# Stripping images ---------------------------------------------------------------


def test_a_photo_loses_exif_gps_xmp_icc_and_comment() -> None:
    stripped = opened(files.strip_image(jpeg_with_gps(), "image/jpeg", 10_000))

    assert dict(stripped.getexif()) == {}
    assert stripped.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(stripped.info)


def test_a_photo_is_turned_upright_before_its_exif_goes() -> None:
    stripped = opened(files.strip_image(jpeg_with_gps((40, 20)), "image/jpeg", 10_000))

    assert stripped.size == (20, 40)


def test_png_text_and_colour_profile_are_dropped() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Alice")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG", pnginfo=text, icc_profile=profile)

    stripped = opened(files.strip_image(out.getvalue(), "image/png", 10_000))

    assert not {"Author", "icc_profile"} & set(stripped.info)


def test_an_animated_gif_keeps_its_frames_and_timing_but_not_its_comment() -> None:
    frames = [Image.new("RGB", (6, 6), colour) for colour in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
        comment=b"made at home",
    )

    stripped = opened(files.strip_image(out.getvalue(), "image/gif", 10_000))

    assert getattr(stripped, "n_frames", 1) == 3
    assert stripped.info["duration"] == 100
    assert "comment" not in stripped.info


def test_a_multi_picture_jpeg_keeps_its_first_picture_only() -> None:
    out = io.BytesIO()
    first, second = Image.new("RGB", (8, 8), "red"), Image.new("RGB", (8, 8), "blue")
    first.save(out, "MPO", save_all=True, append_images=[second])

    stripped = opened(files.strip_image(out.getvalue(), "image/jpeg", 10_000))

    assert stripped.format == "JPEG"
    assert getattr(stripped, "n_frames", 1) == 1


@pytest.mark.parametrize("lossless", [True, False])
@pytest.mark.parametrize("frames", [1, 2])
def test_a_webp_keeps_its_kind_of_compression(lossless: bool, frames: int) -> None:
    pictures = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    pictures[0].save(
        out,
        "WEBP",
        lossless=lossless,
        exif=jpeg_exif(),
        save_all=frames > 1,
        append_images=pictures[1:frames],
    )

    stripped = files.strip_image(out.getvalue(), "image/webp", 10_000)

    assert files.lossless_webp(out.getvalue()) is lossless
    assert files.lossless_webp(stripped) is lossless
    assert "exif" not in opened(stripped).info


def test_an_image_with_too_many_pixels_is_refused() -> None:
    with pytest.raises(BadUserInput, match="too large in pixels"):
        files.strip_image(png((20, 20)), "image/png", 399)


def test_a_decompression_bomb_is_bad_input() -> None:
    bomb = png_header(20_000, 20_000)

    with pytest.raises(BadUserInput, match=r"^The image could not be read\.$"):
        files.strip_image(bomb, "image/png", files.MAX_PIXELS)


def test_a_broken_image_is_bad_input_that_names_nothing_of_it() -> None:
    broken = jpeg_with_gps()[:200]

    with pytest.raises(BadUserInput) as refused:
        files.strip_image(broken, "image/jpeg", 10_000)

    assert refused.value.message == "The image could not be read."


# Names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\alice\\photo.png", "photo.png"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("line\nbreak.pdf", "linebreak.pdf"),
        (".hidden", "hidden"),
        ("x" * 300, "x" * 200),
    ],
)
def test_a_file_name_keeps_only_what_can_be_shown(given: str, expected: str) -> None:
    assert files.clean_name(given) == expected


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(BadUserInput, match="needs a name"):
        files.clean_name(" /\u200b ")


def test_a_download_name_ends_as_its_type_does() -> None:
    assert files.download_name("report", "application/pdf") == "report.pdf"
    assert files.download_name("photo.JPEG", "image/jpeg") == "photo.JPEG"
    assert files.download_name("page.html", "image/png") == "page.html.png"


# Signed links --------------------------------------------------------------------

SIGNER = DownloadSigner(secret=b"s" * 32, ttl_seconds=300)
FILE = StoredFile(id=7, storage_key="ab" * 20)


def signature_of(query: str) -> tuple[str, str]:
    expires, signature = (part.split("=")[1] for part in query.split("&"))
    return expires, signature


def test_a_signed_link_is_valid_until_it_expires() -> None:
    expires, signature = signature_of(SIGNER.query(FILE, now=1_000))

    assert SIGNER.valid(FILE, expires, signature, now=1_300)
    assert not SIGNER.valid(FILE, expires, signature, now=1_301)


def test_a_signature_matches_a_known_vector() -> None:
    assert SIGNER.query(FILE, now=1_000) == (
        "expires=1300&signature="
        "8d755ddea592b296fd7cd6fe0553e8a3c60a86d50ac39b42abf60f0ef11002e7"
    )


def test_a_tampered_link_is_refused() -> None:
    expires, signature = signature_of(SIGNER.query(FILE, now=1_000))
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]

    assert not SIGNER.valid(FILE, expires, flipped, now=1_000)
    assert not SIGNER.valid(FILE, str(int(expires) + 1), signature, now=1_000)
    other = StoredFile(id=8, storage_key=FILE.storage_key)
    assert not SIGNER.valid(other, expires, signature, now=1_000)


@pytest.mark.parametrize(
    ("expires", "signature"), [("", ""), ("١٣٠٠", "x"), ("1300", "é" * 64)]
)
def test_a_malformed_link_is_refused_quietly(expires: str, signature: str) -> None:
    assert not SIGNER.valid(FILE, expires, signature, now=1_000)


# Storing and deleting ------------------------------------------------------------


async def test_an_upload_stores_its_clean_bytes_a_row_and_an_event(
    database: None, tmp_path: Path
) -> None:
    owner = await make_account("olga")
    project = await make_project(owner)
    storage = LocalStorage(tmp_path)

    stored = await files.upload(
        project,
        owner,
        Incoming("me.jpg", "image/jpeg", jpeg_with_gps()),
        POLICY,
        storage,
    )

    data = await storage.read(stored.storage_key)
    assert (stored.name, stored.content_type, stored.size) == (
        "me.jpg",
        "image/jpeg",
        len(data),
    )
    assert "exif" not in opened(data).info
    event = await Event.get(kind="file.uploaded")
    assert event.payload == {"file": stored.id}


async def test_a_refused_upload_stores_nothing(database: None, tmp_path: Path) -> None:
    owner = await make_account("olga")
    project = await make_project(owner)

    with pytest.raises(BadUserInput):
        await files.upload(
            project,
            owner,
            Incoming("notes.txt", "text/plain", b"text"),
            POLICY,
            LocalStorage(tmp_path),
        )

    assert await StoredFile.all().count() == 0
    assert stored_under(tmp_path) == []


async def test_bytes_no_file_names_are_swept_once_old_enough(
    database: None, tmp_path: Path
) -> None:
    owner = await make_account("olga")
    project = await make_project(owner)
    storage = LocalStorage(tmp_path)
    kept = await files.upload(
        project, owner, Incoming("a.pdf", None, MINIMAL_PDF), POLICY, storage
    )
    orphan, young_orphan = new_key(), new_key()
    await storage.put(orphan, b"left by a crashed upload")
    await storage.put(young_orphan, b"an upload still being recorded")
    for key in (kept.storage_key, orphan):
        os.utime(storage.path(key), (1_000, 1_000))

    removed = await files.sweep_orphans(storage, before=2_000)

    assert removed == 1
    assert await storage.read(kept.storage_key) == MINIMAL_PDF
    assert await storage.read(young_orphan) == b"an upload still being recorded"
    with pytest.raises(NotFound):
        await storage.read(orphan)


async def test_another_member_may_not_delete_a_file_but_staff_may(
    database: None, tmp_path: Path
) -> None:
    owner, alice, bob = [await make_account(h) for h in ("olga", "alice", "bob")]
    project = await make_project(owner, alice, bob)
    storage = LocalStorage(tmp_path)
    stored = await files.upload(
        project, alice, Incoming("a.pdf", None, MINIMAL_PDF), POLICY, storage
    )

    with pytest.raises(Forbidden):
        await files.delete(stored, bob, Actor.MEMBER, storage)
    await files.delete(stored, owner, Actor.OWNER, storage)

    assert await StoredFile.all().count() == 0
    assert stored_under(tmp_path) == []
    assert await Event.filter(kind="file.deleted").count() == 1
