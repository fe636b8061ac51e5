"""What a search returns (by face, or by person): photos, best first, with the faces that
matched. Each answer's JSON form (`as_dict()`) is shaped otherwise than its fields: the
`...Json` dataclasses document it (see `regard.domain.result`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regard.domain.face import AnalysedFace, Box
from regard.domain.moments import MomentMatch
from regard.domain.people import PersonInfo
from regard.domain.result import Result

# --- the JSON forms, as the HTTP API documents them ------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeFaceJson:
    index: int
    box: list[float]  # x, y, width, height in the photo's upright pixels
    detector_score: float
    size_px: float
    low_quality: bool


@dataclass(frozen=True, slots=True)
class FaceMatchJson:
    face_id: int
    box: list[float]
    score: float
    low_quality: bool
    person: str | None
    name: str | None
    source: str | None = None  # person searches only: "owner", "auto" or "suggested"
    reason: str | None = None  # possible matches only: why it is only possible


@dataclass(frozen=True, slots=True)
class PhotoMatchJson:
    photo_id: int
    path: str
    name: str
    width: int | None
    height: int | None
    score: float
    taken_at: str | None
    faces: list[FaceMatchJson]


@dataclass(frozen=True, slots=True)
class ProbeJson:
    path: str
    face: ProbeFaceJson
    faces_in_photo: int


@dataclass(frozen=True, slots=True)
class ConfirmAsJson:
    person: str  # P12: the person a possible match would be confirmed as
    name: str | None


@dataclass(frozen=True, slots=True)
class SearchResultJson:
    probe: ProbeJson
    threshold: float
    threshold_source: str
    library_faces: int
    expected_false_matches: float
    photos: int
    matches: list[PhotoMatchJson]
    videos: int  # how many videos the moments are in
    moments: list[MomentMatch]  # video moments whose face matched, best first
    possible_photos: int
    #: The second tier: a few photos beyond the threshold, each face with its reason.
    possible: list[PhotoMatchJson]
    #: Who a possible match would be confirmed as: the best match's person, if any.
    confirm_as: ConfirmAsJson | None


@dataclass(frozen=True, slots=True)
class PersonSearchJson:
    person: PersonInfo
    threshold: float
    photos: int
    matches: list[PhotoMatchJson]
    videos: int
    moments: list[MomentMatch]  # the person's moments in videos, then suggested ones
    possible_photos: int
    possible: list[PhotoMatchJson]  # the second tier: faces that may be them
    refused: str | None = None  # why nothing may be shown (then there are no matches)


# --- the answers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeFace(Result):
    """A face found in the photo given to search, listed so the user can pick one."""

    json_form = ProbeFaceJson

    index: int
    box: Box
    det_score: float
    size_px: float
    low_quality: bool

    @classmethod
    def of(cls, index: int, face: AnalysedFace) -> ProbeFace:
        return cls(
            index, face.detection.box, face.detection.score, face.quality.size_px, face.quality.low
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "box": self.box.as_list(),
            "detector_score": round(self.det_score, 3),
            "size_px": self.size_px,
            "low_quality": self.low_quality,
        }


@dataclass(frozen=True, slots=True, eq=False)
class ProbeFaces(Result):
    """The faces in a photo handed in, left to right, numbered as `face_index` takes them."""

    faces: list[ProbeFace]


@dataclass(frozen=True, slots=True)
class FaceMatch(Result):
    json_form = FaceMatchJson

    face_id: int
    box: Box
    score: float
    low_quality: bool
    #: For person searches: "owner" (put there by the owner), "auto" (grouped by Regard) or
    #: "suggested" (not in the person, but looks like them). Empty for face searches.
    source: str = ""
    #: The face's person ("P12") and their name, where the library's policy allows showing
    #: who they are (grouping); None otherwise, and for faces in no person.
    person: str | None = None
    name: str | None = None
    #: In the "possible matches" tier: why the face is only possible.
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "face_id": self.face_id,
            "box": self.box.as_list(),
            "score": round(self.score, 4),
            "low_quality": self.low_quality,
            "person": self.person,
            "name": self.name,
        }
        if self.source:
            out["source"] = self.source
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class PhotoMatch(Result):
    json_form = PhotoMatchJson

    photo_id: int
    path: str
    score: float  # the best of its faces
    faces: tuple[FaceMatch, ...]
    taken_at: str | None = None
    name: str = ""  # what to call it: the name it was sent with, else its file's name
    width: int | None = None  # upright pixels, which the face boxes are in
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "photo_id": self.photo_id,
            "path": self.path,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "score": round(self.score, 4),
            "taken_at": self.taken_at,
            "faces": [f.as_dict() for f in self.faces],
        }


@dataclass(frozen=True, slots=True)
class SearchResult(Result):
    json_form = SearchResultJson

    probe_path: str
    probe_face: ProbeFace
    probe_faces: int
    threshold: float
    #: "adaptive" (judged against the probe's neighbourhood in the library; `threshold` is
    #: the similarity that meant for this probe), "calibrated" (one threshold for the
    #: library's size: the library is too small to judge a neighbourhood) or "given".
    threshold_source: str
    library_faces: int
    expected_false_matches: float
    matches: tuple[PhotoMatch, ...] = field(default_factory=tuple)
    #: Moments of videos whose face matched, best first: ranked with the photos by score
    #: (the same vectors, the same threshold), listed beside them.
    moments: tuple[MomentMatch, ...] = field(default_factory=tuple)
    #: The "possible matches" tier: photos beyond the threshold, best first, each face
    #: with the reason it is only possible.
    possible: tuple[PhotoMatch, ...] = field(default_factory=tuple)
    #: (P12, name): the person of the best match, whom a possible match may be confirmed as.
    confirm_as: tuple[str, str | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": {
                "path": self.probe_path,
                "face": self.probe_face.as_dict(),
                "faces_in_photo": self.probe_faces,
            },
            "threshold": round(self.threshold, 4),
            "threshold_source": self.threshold_source,
            "library_faces": self.library_faces,
            "expected_false_matches": round(self.expected_false_matches, 4),
            "photos": len(self.matches),
            "matches": [m.as_dict() for m in self.matches],
            "videos": len({m.video_id for m in self.moments}),
            "moments": [m.as_dict() for m in self.moments],
            "possible_photos": len(self.possible),
            "possible": [m.as_dict() for m in self.possible],
            "confirm_as": (
                None
                if self.confirm_as is None
                else {"person": self.confirm_as[0], "name": self.confirm_as[1]}
            ),
        }


@dataclass(frozen=True, slots=True)
class PersonSearch(Result):
    json_form = PersonSearchJson

    person: PersonInfo
    threshold: float
    matches: tuple[PhotoMatch, ...]
    refused: str | None = None  # why nothing may be shown
    moments: tuple[MomentMatch, ...] = ()
    #: The "possible matches" tier: faces beyond the threshold that may be them.
    possible: tuple[PhotoMatch, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person.as_dict(),
            "threshold": round(self.threshold, 4),
            "photos": len(self.matches),
            "matches": [m.as_dict() for m in self.matches],
            "videos": len({m.video_id for m in self.moments}),
            "moments": [m.as_dict() for m in self.moments],
            "possible_photos": len(self.possible),
            "possible": [m.as_dict() for m in self.possible],
            **({"refused": self.refused} if self.refused else {}),
        }
