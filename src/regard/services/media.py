"""Originals: a photo's or video's own file, as it is on the disk, for the viewer to download
or play. Only the file the catalog indexed is served (by its row, never by a path someone
sends), and it is checked to be that file still.

What is served is the file itself, metadata and all, so the promise that an opted-out face is
never shown unblurred decides who gets it: the library's owners (the files are theirs; they
can open them on the disk anyway), and others only when nobody in it opted out. Everybody sees
photos through display copies (`Thumbnails`), which blur opted-out faces and carry no metadata.
"""

from __future__ import annotations

from pathlib import Path

from regard.domain.library import OriginalFile
from regard.domain.photo import Photo, shown_name
from regard.errors import OptedOutError, PhotoNotFoundError, UnreadableFileError
from regard.pipeline.sniff import sniff
from regard.privacy.acting import Acting
from regard.storage.repositories import Store

#: What a browser is told a video is, by its file's suffix (the container; the codecs in it
#: decide whether the browser can play it).
VIDEO_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".3gp": "video/3gpp",
}


class Originals:
    def __init__(self, catalog: Store, acting: Acting) -> None:
        self.catalog = catalog
        self.acting = acting

    def original(self, photo_id: int) -> OriginalFile:
        """The photo's (or video's) file, if whoever is acting may have it as it is."""
        photo = self.catalog.photos.get(photo_id)
        if photo is None:
            raise PhotoNotFoundError(photo_id)
        # Owners see where photos are (`Actor.full_paths`): the files are theirs.
        if not self.acting.actor.full_paths and self._shows_an_opted_out_face(photo_id):
            raise OptedOutError(
                "Someone in this file opted out, and only the library's owners may have it "
                "as it is. Share it from the Share page, which blurs their face."
            )
        path = Path(photo.path)
        try:
            stat = path.stat()
            with path.open("rb") as fh:
                head = fh.read(32)
        except OSError as exc:
            raise _missing(path, exc.strerror or "it cannot be read") from exc
        video = _is_video(photo)
        kind = VIDEO_MEDIA_TYPES.get(path.suffix.lower()) if video else sniff(head)
        return OriginalFile(
            path=path,
            media_type=kind or "application/octet-stream",
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            name=shown_name(photo.path, self.catalog.photos.upload_name(photo.path)),
            video=video,
        )

    def _shows_an_opted_out_face(self, photo_id: int) -> bool:
        return any(r["biometric"] == "opted_out" for r in self.catalog.faces.rows(photo_id))


def _is_video(photo: Photo) -> bool:
    return photo.metadata is not None and photo.metadata.media == "video"


def _missing(path: Path, why: str) -> UnreadableFileError:
    return UnreadableFileError(
        path,
        f"the file cannot be read ({why})",
        "It was moved or deleted since it was indexed: run `regard index` on its folder.",
        web_advice="It was moved or deleted since it was indexed: put it back, or add it "
        "again on the Library page.",
    )
