"""A library for recaps straight from the catalog's rows (`SqliteRecaps.photo_rows` and
`face_rows`): the columns recaps are found in are made from the rows as they come, a whole
column at a time, and a `Shot` (with its `ShotFace`s) only for a row some recap wants to
look at — a listing of a hundred thousand photos makes a few thousand, not a hundred
thousand and their faces.

Who may be shown is the caller's to say (`allowed` people, and whether a face in no person
may be); a face is shown as it is only if its biometric data is also kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from regard.domain.recap_choice import Options, Pick, video_picks
from regard.domain.recap_table import Bools, Columns, Floats, Ints
from regard.domain.recaps import Library, Look, Shot, ShotFace

#: A photo row: id, path, taken_at, gps_lat, gps_lon, width, height, media, duration,
#: camera, content_hash. A face row: photo_id, id, person_id, x, y, w, h, quality,
#: low_quality, biometric, and a video appearance's start, end and best time (or None).
Row = tuple[Any, ...]
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_NOT_DATED = np.iinfo(np.int64).min  # NaT


class Rows:
    """The catalog's rows behind a `Library`: the `Shot` of a row made when asked (and
    kept), and what recaps want of a row without one."""

    def __init__(
        self,
        photos: Sequence[Row],
        faces: Sequence[Row],
        shown: list[bool],
        taken: list[datetime | None],
        order: Ints,
        face_at: Ints,
        face_bounds: Ints,
        small: Bools,
    ) -> None:
        self._photos = photos
        self._faces = faces
        self._shown = shown
        self._taken = taken
        self._order = order.tolist()  # row -> place in `photos`
        self._face_at = face_at.tolist()  # faces of a photo: places in `faces`
        self._bounds = face_bounds.tolist()  # photo place -> its first in `_face_at`
        #: By row: too small to fill a tile (under 0.3 megapixels).
        self.small = small
        self._made: dict[int, Shot] = {}
        self._faces_of: dict[int, tuple[ShotFace, ...]] = {}
        self._people: dict[int, frozenset[int]] | None = None
        self._cameras: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self._order)

    def shot(self, row: int) -> Shot:
        made = self._made.get(row)
        if made is None:
            i = self._order[row]
            pid, path, _, lat, lon, w, h, media, duration, camera, _ = self._photos[i]
            made = Shot(
                pid,
                path,
                self._taken[i],
                lat,
                lon,
                w or 0,
                h or 0,
                media == "video",
                duration,
                self.faces(row),
                camera.strip() or None,
            )
            self._made[row] = made
        return made

    def faces(self, row: int) -> tuple[ShotFace, ...]:
        """The faces of a row's shot (as its `Shot` has them), without making the shot."""
        out = self._faces_of.get(row)
        if out is None:
            i = self._order[row]
            out = tuple(
                _face(self._faces[k], self._shown[k])
                for k in self._face_at[self._bounds[i] : self._bounds[i + 1]]
            )
            self._faces_of[row] = out
        return out

    def people(self, cols: Columns) -> dict[int, frozenset[int]]:
        """By row, the people shown as they are in its shot (as `recap_choice.Pick` has
        them; rows with nobody left out), from the library's columns."""
        if self._people is None:
            keep = cols.face_shown & (cols.face_person >= 0)
            grouped: dict[int, list[int]] = {}
            for row, person in zip(
                cols.face_shot[keep].tolist(), cols.face_person[keep].tolist(), strict=True
            ):
                grouped.setdefault(row, []).append(person)
            self._people = {row: frozenset(who) for row, who in grouped.items()}
        return self._people

    def cameras(self) -> list[str | None]:
        """By row, the camera that took it (make and model), if known."""
        if self._cameras is None:
            photos = self._photos
            self._cameras = [str(photos[i][9]).strip() or None for i in self._order]
        return self._cameras

    def path(self, row: int) -> str:
        return str(self._photos[self._order[row]][1])

    def content(self, row: int) -> str | None:
        """The photo's content hash (what a look kept of it must match)."""
        value = self._photos[self._order[row]][10]
        return None if value is None else str(value)


def _face(r: Row, shown: bool) -> ShotFace:
    _, fid, person, x, y, w, h, q, low, _, start, end, best = r
    span = (float(start), float(end), float(best)) if start is not None else None
    return ShotFace(fid, person, (x, y, w, h), float(q), bool(low), shown, span)


def parse_time(text: str | None) -> datetime | None:
    """A catalog's capture time as the camera wrote it (an offset, if any, dropped)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=None) if when.tzinfo else when


def library_of(
    photos: Sequence[Row],
    faces: Sequence[Row],
    *,
    allowed: AbstractSet[int],
    household: bool,
    hidden: AbstractSet[int] = frozenset(),
) -> tuple[Library, Rows]:
    """The dated photos (ordered by id, as the catalog gives them) as a `Library`, oldest
    first, without those showing a person in `hidden`; and the rows behind it. Faces
    (ordered by photo, then left to right) of photos not given are left out."""
    n = len(photos)
    taken = [parse_time(r[2]) for r in photos]
    cols: list[tuple[Any, ...]] = list(zip(*photos, strict=True)) if n else [()] * 11
    ids = np.array(cols[0], dtype=np.int64).reshape(n)
    when = np.fromiter(
        (_NOT_DATED if d is None else (d - _EPOCH) // _MICROSECOND for d in taken), np.int64, n
    ).view("datetime64[us]")  # whole microseconds since 1970, as `recaps.Library.of` has them
    fc: list[tuple[Any, ...]] = list(zip(*faces, strict=True)) if faces else [()] * 13
    m = len(faces)
    f_photo = np.array(fc[0], dtype=np.int64).reshape(m)
    person = np.array(fc[2], dtype=np.float64).reshape(m)  # None: NaN
    f_person = np.where(np.isnan(person), -1, person).astype(np.int64)
    kept = np.array([b == "kept" for b in fc[9]], dtype=np.bool_).reshape(m)
    may = np.isin(f_person, np.fromiter(allowed, np.int64, len(allowed)))
    shown = kept & np.where(f_person >= 0, may, household)
    # Each face's photo (its place in `photos`), those of photos not given dropped.
    at = np.minimum(np.searchsorted(ids, f_photo), max(0, n - 1))
    mine = (at < n) & (ids[at] == f_photo) if n else np.zeros(m, dtype=np.bool_)
    face_at = np.flatnonzero(mine).astype(np.int64)
    bounds = np.searchsorted(at[face_at], np.arange(n + 1)).astype(np.int64)
    keep = ~np.isnat(when)
    if hidden:
        gone = mine & np.isin(f_person, np.fromiter(hidden, np.int64, len(hidden)))
        keep[at[gone]] = False
    have = np.flatnonzero(keep)
    t = when[have].astype(np.int64)
    order = have[np.lexsort((ids[have], t))]  # row -> place in `photos`, as `dated` sorts
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[order] = np.arange(len(order), dtype=np.int64)
    f_row = row_of[at[face_at]]
    faces_in = face_at[f_row >= 0]
    f_row = f_row[f_row >= 0]
    by_row = np.argsort(f_row, kind="stable")  # by row, then as the catalog gives them
    f = faces_in[by_row]
    columns = Columns(
        ids=ids[order],
        t=when[order].astype(np.int64),
        lat=np.array(cols[3], dtype=np.float64).reshape(n)[order],
        lon=np.array(cols[4], dtype=np.float64).reshape(n)[order],
        video=np.array([v == "video" for v in cols[7]], dtype=np.bool_).reshape(n)[order],
        face_shot=f_row[by_row],
        face_person=f_person[f],
        face_shown=shown[f],
        face_low=np.array(fc[8], dtype=np.bool_).reshape(m)[f],
        face_quality=np.array(fc[7], dtype=np.float64).reshape(m)[f],
    )
    w = np.nan_to_num(np.array(cols[5], dtype=np.float64).reshape(n))  # None: 0
    h = np.nan_to_num(np.array(cols[6], dtype=np.float64).reshape(n))
    small = ((w > 0) & (h > 0) & (w * h < 300_000))[order]
    rows = Rows(photos, faces, shown.tolist(), taken, order, face_at, bounds, small)
    return Library(columns, rows.shot), rows


# --- choosing on rows ------------------------------------------------------------------------


class Looks:
    """The looks known of a library's rows, as columns (`has`: a look was read or taken)."""

    def __init__(self, n: int) -> None:
        self.has = np.zeros(n, dtype=np.bool_)
        self.sharpness = np.zeros(n, dtype=np.float64)
        self.exposure = np.zeros(n, dtype=np.float64)
        self.dhash: dict[int, int] = {}  # by row

    def put(self, row: int, look: Look) -> None:
        self.has[row] = True
        self.sharpness[row] = look.sharpness
        self.exposure[row] = look.exposure
        self.dhash[row] = look.dhash


def base_scores(priors: Floats, looks: Looks, small: Bools) -> Floats:
    """What `recap_choice.candidates` scores each row's photo, for every row at once: its
    prior, its look (`look_score`) and whether it is too small to fill a tile."""
    seen = 0.6 * looks.sharpness + 0.4 * looks.exposure
    score = priors + 0.8 * np.where(looks.has, seen, 0.5)
    return np.asarray(score - np.where(small, 0.3, 0.0), dtype=np.float64)


#: What a candidate is: its row, and a video moment's start, end and faces in view.
Made = tuple[int, float | None, float | None, tuple[ShotFace, ...] | None]


def options_of(
    rows: list[int],
    lib: Library,
    source: Rows,
    base: Sequence[float],
    looks: Looks,
    named: Mapping[int, str],
) -> tuple[Options, list[Made]]:
    """`recap_choice.candidates` of these rows, as `Options` for `choose_among`: a `Shot`
    made only for a video (its moments are scored from its faces)."""
    cols = lib.cols
    video = cols.video[rows]
    photos = [r for r, v in zip(rows, video.tolist(), strict=True) if not v]
    people, cameras, dhash = source.people(cols), source.cameras(), looks.dhash
    nobody: frozenset[int] = frozenset()
    # Photos first, then videos' moments: `choose_among` orders candidates by time and id,
    # and a video's moments (one id) stay in their order.
    out = Options(
        key=cols.ids[photos].tolist(),
        score=[base[r] for r in photos],
        people=[people.get(r, nobody) for r in photos],
        t=cols.t[photos].tolist(),
        video=[False] * len(photos),
        dhash=[dhash.get(r) for r in photos],
        camera=[cameras[r] for r in photos],
    )
    made: list[Made] = [(r, None, None, None) for r in photos]
    for row in np.asarray(rows)[video].tolist():
        shot = source.shot(row)
        when = int(cols.t[row])
        for start, end, faces, score in video_picks(shot, named):
            who = frozenset(f.person for f in faces if f.shown and f.person is not None)
            out.add(shot.id, score, who, when, True, None, shot.camera)
            made.append((row, start, end, faces))
    return out, made


def pick_of(made: Made, options: Options, i: int, source: Rows) -> Pick:
    """The `Pick` of a candidate chosen (`options_of`'s `i`th)."""
    row, start, end, faces = made
    shot = source.shot(row)
    return Pick(
        shot,
        shot.faces if faces is None else faces,
        options.score[i],
        start,
        end,
        dhash=options.dhash[i],
    )
