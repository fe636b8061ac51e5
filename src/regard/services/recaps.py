"""Recaps made on the owner's machine: events, trips, on this day, a person's year, people
together, a year in review (`regard.domain.recaps`), their photos chosen
(`regard.domain.recap_choice`), their places named offline (`regard.pipeline.places`).

Recaps are computed from the catalog, never stored: a photo deleted, a person erased or a
consent withdrawn changes them at once. Only what the owner decided is kept: recaps hidden,
people hidden from recaps, and the small looks taken of photos. What was worked out is kept
in memory for the day while the catalog's change mark (`SqliteRecaps.change_mark`) stays the
same: any row written by anyone (but the audit entries and looks this service writes itself)
starts again from the catalog, so a server's later listings cost next to nothing and none
can show what the catalog no longer allows.

Who is shown: a face is shown as it is only if its biometric data is kept (not opted out,
withdrawn, erased, unconsented or expired) and its person may be shown in recaps
(`regard.domain.privacy.shown_in_recaps`: household, unless they withdrew; organisation,
only with an active consent for `recaps`); a face in no person only in a household library.
Every other face is blurred in collages and videos. A person hidden from recaps is in none:
no recap of their own, and no photo or video moment they are in is chosen for any other.
Listing and making recaps are recorded in the audit log, as exports are.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from regard.collector import collector_paused
from regard.domain.appearance import Moment
from regard.domain.clock import utc_now
from regard.domain.people import person_label
from regard.domain.privacy import Purpose, shown_in_recaps
from regard.domain.recap_answers import (
    Recap,
    RecapChange,
    RecapFace,
    RecapList,
    RecapMade,
    RecapPhoto,
)
from regard.domain.recap_choice import PHOTOS_FOR, Pick, choose_among, priors_of, shortlist_rows
from regard.domain.recap_rows import Looks, Rows, base_scores, library_of, options_of, pick_of
from regard.domain.recaps import (
    Draft,
    Library,
    Look,
    Names,
    RecapKind,
    ShotFace,
    recaps_in,
    with_place,
)
from regard.errors import InvalidRequestError, OutputError, RecapNotFoundError
from regard.pipeline.decode import DecodeLimits
from regard.pipeline.models import ModelLoader
from regard.pipeline.places import Gazetteer
from regard.pipeline.recap_looks import look_at
from regard.pipeline.recap_photo import needs_anonymising
from regard.pipeline.recap_render import make_collage, make_slideshow
from regard.pipeline.recap_tiles import SkippedTile, Tile, TileFace
from regard.privacy.acting import Acting
from regard.privacy.audit import AuditLog
from regard.privacy.policy import PolicyGate
from regard.services.people import PeopleService
from regard.storage.repositories import Store

#: What `regard recaps --kind` takes: the kinds, "today" (a few for today) and "all".
KINDS: dict[str, RecapKind | None] = {
    "today": None,
    "all": None,
    "on-this-day": RecapKind.ON_THIS_DAY,
    "events": RecapKind.EVENT,
    "trips": RecapKind.TRIP,
    "people": RecapKind.PERSON_YEAR,
    "together": RecapKind.TOGETHER,
    "years": RecapKind.YEAR,
}
#: Today's recaps: on this day, the latest events, and the best of each other kind.
TODAY_EVENTS = 3


#: What a recap's making is busy with (`RecapService.make`'s `stage`).
MakeStage = Literal["anonymising", "collage", "video"]


@dataclass(slots=True)
class _Found:
    """What a day's recaps were worked out from, and at which change mark of the catalog;
    each recap's photos once chosen (by id, and whether paths are shown whole)."""

    mark: tuple[int, int]
    day: date
    drafts: list[Draft]
    names: Names
    lib: Library
    source: Rows
    gone: set[str]
    chosen: dict[tuple[str, bool], Chosen] = field(default_factory=dict)
    looks: Looks | None = None  # of the rows looked at so far


@dataclass(frozen=True, slots=True)
class Chosen:
    """A recap and the picks its photos came from (what a renderer needs)."""

    recap: Recap
    picks: tuple[Pick, ...]


class RecapService:
    def __init__(
        self,
        *,
        catalog: Store,
        audit: AuditLog,
        policy: PolicyGate,
        acting: Acting,
        people: PeopleService,
        limits: DecodeLimits,
        models: ModelLoader | None = None,
        gazetteer: Callable[[], Gazetteer] | None = None,
    ) -> None:
        self.catalog = catalog
        self.models = models  # the anonymiser's detector, for video moments
        self.audit = audit
        self.policy = policy
        self.acting = acting
        self.people = people
        self.limits = limits
        self._gazetteer = gazetteer
        self._places: Gazetteer | None = None
        self._places_lock = threading.Lock()
        self._where: Callable[[str], str] = str
        self._found: _Found | None = None

    # --- listing ----------------------------------------------------------------------------

    def listing(
        self, kind: str = "today", *, hidden: bool = False, today: date | None = None
    ) -> RecapList:
        """Recaps of a kind (see KINDS), best first, their photos chosen; those the owner hid
        only with `hidden`."""
        if kind not in KINDS:
            raise InvalidRequestError(
                f"Unknown kind of recap {kind!r}: use one of {', '.join(KINDS)}."
            )
        day = today or self.policy.today()
        found = self._worked_out(day)
        drafts, gone = found.drafts, found.gone
        shown = [d for d in drafts if hidden or d.id not in gone]
        wanted = KINDS[kind]
        if kind == "today":
            shown = _for_today(shown, day)
        elif wanted is not None:
            shown = [d for d in shown if d.kind is wanted]
        chosen = self._chosen_of(found, shown)
        self.record("recaps", chosen, {"kind": kind})
        return RecapList(
            recaps=[c.recap for c in chosen],
            hidden=len({d.id for d in drafts} & gone),
            today=day.isoformat(),
        )

    def get(self, recap_id: str, *, today: date | None = None) -> Chosen:
        """One recap by id (hidden or not), its photos chosen, with the picks they came from."""
        found = self._worked_out(today or self.policy.today())
        for d in found.drafts:
            if d.id == recap_id.strip().upper():
                [chosen] = self._chosen_of(found, [d])
                return chosen
        raise RecapNotFoundError(recap_id)

    # --- making -----------------------------------------------------------------------------

    def make(
        self,
        recap_id: str,
        *,
        collage: Path | None = None,
        video: Path | None = None,
        audio: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        stage: Callable[[MakeStage], None] | None = None,
    ) -> RecapMade:
        """Write a recap's collage (JPEG) and/or slideshow (MP4), each whole or not at all,
        every face that may not be shown blurred. `stage` is told what `progress` counts from
        then on: photos and moments anonymised first, then the collage's photos, the video's
        frames."""
        if collage is None and video is None:
            raise InvalidRequestError(
                "Say what to make: --collage FILE.jpg and/or --video FILE.mp4.",
                web="Choose a collage, a video or both.",
            )
        for out in (collage, video):
            if out is not None and out.is_dir():
                raise OutputError(out, "is a folder", "Give a file name, such as recap.jpg.")
        chosen = self.get(recap_id)
        if not chosen.picks:
            raise InvalidRequestError(f"Recap {chosen.recap.id} has no photos to show.")
        moments = self.catalog.appearances.of_faces(
            [f.face_id for p in chosen.picks if p.start is not None for f in p.faces]
        )
        skipped: dict[str, str] = {}
        seconds = 0.0
        with tempfile.TemporaryDirectory(prefix="regard-moments-") as folder:
            tiles, left_out, found = self._anonymised(
                tiles_of(chosen.picks, moments), Path(folder), progress, cancel, stage
            )
            skipped |= {s.path: s.reason for s in left_out}
            if collage is not None:
                if stage is not None:
                    stage("collage")
                report = make_collage(tiles, collage, progress=progress, limits=self.limits)
                skipped |= {s.path: s.reason for s in report.skipped}
            if video is not None:
                if stage is not None:
                    stage("video")
                shown = make_slideshow(
                    tiles, video, audio=audio, progress=progress, cancel=cancel, limits=self.limits
                )
                skipped |= {s.path: s.reason for s in shown.skipped}
                seconds = shown.seconds
        faces = [f for p in chosen.picks for f in p.faces]
        made = RecapMade(
            id=chosen.recap.id,
            collage=str(collage) if collage else None,
            video=str(video) if video else None,
            photos=len(tiles),
            faces_blurred=sum(1 for f in faces if not f.shown) + found,
            faces_shown=sum(1 for f in faces if f.shown),
            seconds=round(seconds, 2),
            skipped=[{"path": self._where(p), "reason": r} for p, r in skipped.items()],
        )
        self.record(
            "recaps-make",
            [chosen],
            {"collage": collage is not None, "video": video is not None},
        )
        return made

    # --- hiding -----------------------------------------------------------------------------

    def hide(self, recap_id: str, hidden: bool = True) -> RecapChange:
        """Hide a recap from the lists (or show it again); it can still be asked for by id."""
        recap = self.get(recap_id).recap
        with self.catalog.transaction():
            if hidden:
                changed = self.catalog.recaps.hide(recap.id, utc_now(), self.acting.name)
            else:
                changed = self.catalog.recaps.unhide(recap.id)
        return RecapChange(id=recap.id, hidden=hidden, changed=changed)

    def hide_person(self, ref: str, hidden: bool = True) -> RecapChange:
        """Keep a person out of every recap (or let them back in): no recap of their own, and
        no photo they are in chosen for another."""
        row = self.people.resolve(ref)
        with self.catalog.transaction():
            changed = self.catalog.recaps.set_person_hidden(row.id, hidden)
            if changed:
                self.audit.record(
                    "recaps-hide-person" if hidden else "recaps-show-person",
                    actor=self.acting.name,
                    subject=person_label(row.id),
                )
        return RecapChange(id=person_label(row.id), hidden=hidden, changed=changed)

    # --- what recaps are made of --------------------------------------------------------------

    def _worked_out(self, day: date) -> _Found:
        """The day's recaps as worked out at the catalog's present change mark: kept from
        before if nothing changed since, else from the catalog now."""
        mark = self.catalog.recaps.change_mark()
        self._where = self.policy.path_namer(self.acting.actor)
        found = self._found
        if found is not None and found.mark == mark and found.day == day:
            return found
        self._found = None
        with collector_paused():
            drafts, names, lib, source = self._drafts(day)
        found = _Found(
            mark or (0, 0), day, drafts, names, lib, source, self.catalog.recaps.hidden()
        )
        if mark is not None:  # the mark is taken before reading: a change meanwhile shows
            self._found = found
        return found

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """This service's own writes (audit entries, looks) leave what it worked out as it
        is: its mark moves with them, unless another connection committed meanwhile."""
        before = self.catalog.recaps.change_mark()
        yield
        found = self._found
        if found is not None and before is not None and found.mark == before:
            after = self.catalog.recaps.change_mark()
            if after is not None and after[0] == before[0]:
                found.mark = after

    def _chosen_of(self, found: _Found, drafts: Sequence[Draft]) -> list[Chosen]:
        """These drafts' photos chosen, those chosen before taken as they were."""
        whole = self.acting.actor.full_paths
        kept = found.chosen
        new = [d for d in drafts if (d.id, whole) not in kept]
        fresh: dict[str, Chosen] = {}
        for c, looked in self._choose(new, found) if new else ():
            fresh[c.recap.id] = c
            # A photo whose look could not be taken may be readable next time.
            if looked:
                kept[(c.recap.id, whole)] = c
        return [fresh.get(d.id) or kept[(d.id, whole)] for d in drafts]

    def _drafts(self, today: date) -> tuple[list[Draft], Names, Library, Rows]:
        """Every recap of the library as the catalog has it now, and the library (as columns,
        and the rows behind them) they were found in."""
        named, allowed, hidden = self._people(today)
        lib, source = library_of(
            self.catalog.recaps.photo_rows(),
            self.catalog.recaps.face_rows(),
            allowed=allowed,
            household=self.policy.allowed(None, Purpose.GROUPING),  # faces in no person
            hidden=hidden,
        )
        names = Names(shown=named, hidden=frozenset(hidden))
        return recaps_in(lib, names, today), names, lib, source

    def _people(self, today: date) -> tuple[dict[int, str], set[int], set[int]]:
        """Who may be named in recaps, who may be shown unblurred, who is hidden."""
        policy = self.policy.current
        named: dict[int, str] = {}
        allowed: set[int] = set()
        hidden: set[int] = set()
        for p in self.catalog.recaps.people():
            if p["recaps_hidden"]:
                hidden.add(p["id"])
                continue
            if shown_in_recaps(policy, self.policy.ledger(p["name"]), today):
                allowed.add(p["id"])
                if p["name"]:
                    named[p["id"]] = p["name"]
        return named, allowed, hidden

    def _choose(self, drafts: Sequence[Draft], found: _Found) -> list[tuple[Chosen, bool]]:
        """The drafts' photos chosen: each one's shortlist (from every shot's prior, worked
        out once for the library), the looks of them all read (or taken) at once, then each
        one's choice — on the library's columns, a `Shot` made only for a video looked at and
        a photo shown. Each with whether the looks of all its shortlist are known."""
        lib, source, names = found.lib, found.source, found.names
        cols = lib.cols
        priors = priors_of(cols, names.shown)
        few = [
            d.rows[shortlist_rows(d.rows, PHOTOS_FOR[d.kind], priors, cols.ids)].tolist()
            for d in drafts
        ]
        if found.looks is None:
            found.looks = Looks(len(cols))
        looks = found.looks
        self._look(sorted({r for rows in few for r in rows}), lib, source, looks)
        seen = looks.has | cols.video
        base = base_scores(priors, looks, source.small).tolist()
        out = []
        answers: dict[tuple[int, float | None], RecapPhoto] = {}  # a photo in several recaps
        with collector_paused():
            for d, rows in zip(drafts, few, strict=True):
                options, made = options_of(rows, lib, source, base, looks, names.shown)
                picks = [
                    pick_of(made[i], options, i, source)
                    for i in choose_among(options, PHOTOS_FOR[d.kind])
                ]
                chosen = self._chosen(d, picks, names, d.id in found.gone, answers)
                out.append((chosen, bool(seen[rows].all())))
        return out

    def _chosen(
        self,
        draft: Draft,
        picks: list[Pick],
        names: Names,
        hidden: bool,
        answers: dict[tuple[int, float | None], RecapPhoto],
    ) -> Chosen:
        draft = with_place(draft, self._place(draft))
        where = self._where
        people = sorted(
            {p for pick in picks for p in pick.people if p in names.shown},
            key=lambda p: (p not in draft.people, names.shown[p]),
        )
        recap = Recap(
            id=draft.id,
            kind=draft.kind.value,
            title=draft.title,
            start=draft.start.isoformat(),
            end=draft.end.isoformat(),
            place=draft.place,
            people=[names.shown[p] for p in people],
            photos=[_answer(p, where, answers) for p in picks],
            total=draft.total,
            score=round(draft.score, 3),
            hidden=hidden,
        )
        return Chosen(recap, tuple(picks))

    def _place(self, draft: Draft) -> str | None:
        if draft.where is None or self._gazetteer is None:
            return None
        with self._places_lock:  # loaded once, by the first to ask
            if self._places is None:
                self._places = self._gazetteer()
        place = self._places.name(*draft.where)
        return place.name if place else None

    def _look(self, rows: Sequence[int], lib: Library, source: Rows, looks: Looks) -> None:
        """The looks of these rows' photos into `looks`: kept ones, and the others taken now
        and kept (a video has none)."""
        at = np.asarray(rows, dtype=np.int64)
        want = at[~lib.cols.video[at] & ~looks.has[at]].tolist()
        ids = lib.cols.ids[want].tolist()
        row_of = dict(zip(ids, want, strict=True))
        kept = self.catalog.recaps.look_rows(
            list(zip(ids, [source.content(r) for r in want], strict=True))
        )
        for pid, dhash, sharpness, exposure in kept:
            looks.put(row_of[pid], Look(dhash, sharpness, exposure))
        new = []
        for pid, r in zip(ids, want, strict=True):
            if looks.has[r]:
                continue
            look = look_at(Path(source.path(r)), self.limits)
            if look is not None:
                looks.put(r, look)
                new.append((pid, source.content(r), look))
        if new:
            with self._writing(), self.catalog.transaction():
                self.catalog.recaps.put_looks(new)

    def record(self, action: str, chosen: Sequence[Chosen], detail: dict[str, Any]) -> None:
        """Recaps show people: who was shown unblurred, in which recaps, goes in the audit log
        as an export's people do."""
        shown = sorted({p for c in chosen for pick in c.picks for p in pick.people})
        blurred = sum(1 for c in chosen for pick in c.picks for f in pick.faces if not f.shown)
        with self._writing(), self.catalog.transaction():
            self.audit.record(
                action,
                actor=self.acting.name,
                subject=",".join(person_label(p) for p in shown) or None,
                result_count=len(chosen),
                detail={
                    **detail,
                    "recaps": [c.recap.id for c in chosen],
                    "faces_blurred": blurred,
                },
            )

    def _anonymised(
        self,
        tiles: list[Tile],
        folder: Path,
        progress: Callable[[int, int], None] | None,
        cancel: Callable[[], bool] | None,
        stage: Callable[[MakeStage], None] | None = None,
    ) -> tuple[list[Tile], list[SkippedTile], int]:
        """The tiles anonymised as an export is, before any render shows them: each photo
        with anything to hide (`regard.pipeline.recap_photo`: faces indexing never found are
        looked for too) and each video moment, every frame looked at (the faces move; the
        library knows where only about once a second). With how many faces were blurred that
        the library did not know of (in photos)."""
        unknown_hidden = not self.policy.allowed(None, Purpose.GROUPING)  # faces in no person
        photos = sum(needs_anonymising(t, unknown_hidden=unknown_hidden) for t in tiles)
        moments = sum(t.is_video for t in tiles)
        if not photos and not moments:
            return tiles, [], 0
        if self.models is None:
            raise RuntimeError("recaps are anonymised with the models: none were given")
        from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD
        from regard.pipeline.recap_moment import anonymised_moments
        from regard.pipeline.recap_photo import anonymised_photos

        def step(offset: int) -> Callable[[int, int], None] | None:
            if progress is None:
                return None
            return lambda done, _total: progress(offset + done, photos + moments)

        if stage is not None:
            stage("anonymising")
        # Built from verified weights (a missing or altered file fails here, before any work).
        detector = self.models.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)
        still = anonymised_photos(
            tiles,
            detector,
            folder,
            unknown_hidden=unknown_hidden,
            limits=self.limits,
            progress=step(0),
            cancel=cancel,
        )
        shown, left_out = anonymised_moments(
            still.tiles, detector, folder, progress=step(photos), cancel=cancel
        )
        return shown, still.skipped + left_out, still.found


def tiles_of(picks: Sequence[Pick], moments: Mapping[int, Moment]) -> list[Tile]:
    """What the renderers draw: each photo (or video moment) with its faces, those that may
    not be shown to be blurred (boxes in whole pixels of the upright picture; a video's face
    follows the path of its appearance, from `moments` by face id)."""
    return [
        Tile(
            path=p.shot.path,
            faces=tuple(
                _tile_face(f, moments.get(f.face_id) if p.start is not None else None)
                for f in p.faces
            ),
            video_start_s=p.start,
            video_end_s=p.end,
        )
        for p in picks
    ]


def _tile_face(face: ShotFace, moment: Moment | None) -> TileFace:
    if moment is None or not moment.path:
        return TileFace(box=_whole(face.box), keep=face.shown)
    return TileFace(
        box=_whole(face.box),
        keep=face.shown,
        path=tuple((p.time, _whole((p.box.x, p.box.y, p.box.w, p.box.h))) for p in moment.path),
        span=(moment.start, moment.end),
    )


def _whole(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return (round(x), round(y), round(w), round(h))


def _for_today(drafts: Sequence[Draft], today: date) -> list[Draft]:
    """On this day, the latest events, and the best trip, person's year, people together
    and year in review (best first, as the drafts come)."""
    out = [d for d in drafts if d.kind is RecapKind.ON_THIS_DAY]
    events = sorted(
        (d for d in drafts if d.kind is RecapKind.EVENT), key=lambda d: (d.end, d.id), reverse=True
    )
    out += events[:TODAY_EVENTS]
    for kind in (RecapKind.TRIP, RecapKind.PERSON_YEAR, RecapKind.TOGETHER, RecapKind.YEAR):
        best = next((d for d in drafts if d.kind is kind), None)
        if best is not None:
            out.append(best)
    ranked = {d.id: i for i, d in enumerate(drafts)}
    return sorted(out, key=lambda d: ranked[d.id])


def _answer(
    pick: Pick, where: Callable[[str], str], made: dict[tuple[int, float | None], RecapPhoto]
) -> RecapPhoto:
    """`_photo`, made once for a photo (or a video's moment) chosen for several recaps: its
    pick is the same in each (its score is the photo's, not the recap's)."""
    key = (pick.shot.id, pick.start)
    answer = made.get(key)
    if answer is None or answer.score != round(pick.score, 3):
        answer = made[key] = _photo(pick, where)
    return answer


def _photo(pick: Pick, where: Callable[[str], str]) -> RecapPhoto:
    shot = pick.shot
    faces = []
    for f in pick.faces:
        faces.append(RecapFace(box=[round(v, 1) for v in f.box], blur=not f.shown))
    return RecapPhoto(
        photo_id=shot.id,
        path=where(shot.path),
        media="video" if shot.video else "photo",
        taken_at=shot.taken.isoformat() if shot.taken else None,
        start=pick.start,
        end=pick.end,
        width=shot.width,
        height=shot.height,
        faces=faces,
        score=round(pick.score, 3),
    )
