"""Cameras as the owner sets them up: where the picture comes from, what it alerts on, what it
must never look at, and how long its events are kept.

A mask is given in the source's own pixels, either as a rectangle `left,top,right,bottom` (four
numbers) or as a polygon `x1,y1,x2,y2,x3,y3,...` (three points or more). Masked pixels are
blanked before anything else looks at a frame: they are never processed and never stored.

A camera's source URL may hold a user name and password (`rtsp://user:pass@host/...`): it is
stored as given (the watcher needs it) and shown everywhere else through `redact_url`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit, urlunsplit

from regard.domain.result import Result
from regard.errors import InvalidRequestError

#: What a camera can alert on. `person`, `pet` and `car` are objects; `unknown-face` and
#: `known-face` are person events whose face matched nobody allowed, or a consented member.
ALERTS = ("person", "pet", "car", "unknown-face", "known-face")
DEFAULT_ALERTS = ("person", "pet", "car", "unknown-face", "known-face")
DEFAULT_RETENTION_DAYS = 7
DEFAULT_DETECT_FPS = 5.0
DEFAULT_PRE_ROLL = 3.0
#: Seconds of pre-roll a clip may have at most (they are held in memory, per camera).
MAX_PRE_ROLL = 10.0

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_SCHEMES = ("rtsp", "rtsps", "http", "https", "file")


Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Mask(Result):
    """A polygon in source pixels (a rectangle is its four corners)."""

    points: tuple[Point, ...]

    def as_text(self) -> str:
        return ",".join(f"{x},{y}" for x, y in self.points)


@dataclass(frozen=True, slots=True)
class Camera(Result):
    name: str
    source: str = field(repr=False)  # credentials included: never shown (`shown_source` is)
    alerts: tuple[str, ...] = DEFAULT_ALERTS
    night_only: tuple[str, ...] = ()
    public_space: bool = False
    masks: tuple[Mask, ...] = ()
    retention_days: int = DEFAULT_RETENTION_DAYS
    enabled: bool = True
    transport: str = "tcp"  # RTSP over TCP or UDP
    detect_fps: float = DEFAULT_DETECT_FPS
    clips: bool = False  # keep a short clip of each event, blurred as its snapshot is
    pre_roll: float = DEFAULT_PRE_ROLL  # seconds of the clip before the event began
    shown_source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.shown_source:
            object.__setattr__(self, "shown_source", redact_url(self.source))

    def as_dict(self) -> dict[str, object]:
        d = Result.as_dict(self)
        d.pop("source")  # credentials stay inside the library
        d["masks"] = [m.as_text() for m in self.masks]
        return d

    def watches(self, kind: str) -> bool:
        """Does this camera report events of object kind `kind` (person, pet, car)?"""
        if kind == "person":
            return bool({"person", "unknown-face", "known-face"} & set(self.alerts))
        return kind in self.alerts


@dataclass(frozen=True, slots=True)
class UnknownFace(Result):
    """The crop of a face a camera saw and matched nobody allowed, kept for the owner to name
    (enrol it: `consent grant NAME --purpose camera --face PATH`) or discard until `expires`
    (epoch seconds), when it is deleted."""

    id: int
    event: str
    path: str
    expires: float


@dataclass(frozen=True, slots=True)
class NightWindow:
    """Local hours when night-only alerts are sent; it may cross midnight (22:00-06:00)."""

    start: time = time(22, 0)
    end: time = time(6, 0)

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    @classmethod
    def parse(cls, text: str) -> NightWindow:
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise InvalidRequestError(
                f"{text!r} is not a night window: give it as HH:MM-HH:MM, e.g. 22:00-06:00."
            )
        return cls(time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How the watcher looks: the same for every camera of one run."""

    gating: bool = True  # look only at frames that moved (or while a visit goes on)
    night: NightWindow = field(default_factory=NightWindow)
    min_hits: int = 2  # looks in a row that must find an object before it is a visit
    sure: float = 0.6  # ... but one look is enough for an object found this confidently
    quiet: float = 5.0  # seconds unseen after which a visit ends
    backoff_first: float = 1.0  # seconds before reconnecting a camera, doubling ...
    backoff_most: float = 60.0  # ... up to this


def alert_wanted(
    camera: Camera, kind: str, who: str | None, at_night: bool, unknown: str = "unknown"
) -> bool:
    """Is an event of `kind` (with face result `who`) an alert on this camera now?

    A person is an alert if the camera alerts on people, or on this kind of face (an unknown
    one, a known one). A kind listed as night-only alerts only inside the night window."""
    if kind == "person":
        wanted = (
            "person" in camera.alerts
            or (who == unknown and "unknown-face" in camera.alerts)
            or (who not in (None, unknown) and "known-face" in camera.alerts)
        )
    else:
        wanted = kind in camera.alerts
    if wanted and kind in camera.night_only and not at_night:
        return False
    return wanted


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"{name!r} is not a camera name: use letters, digits, - and _ (up to 40), "
            "starting with a letter or digit, e.g. door or back-garden."
        )
    return name


def parse_alerts(text: str, what: str = "--alerts") -> tuple[str, ...]:
    items = [i.strip().lower() for i in text.split(",") if i.strip()]
    bad = [i for i in items if i not in ALERTS]
    if bad or not items:
        raise InvalidRequestError(
            f"{what}: {', '.join(map(repr, bad)) or 'nothing given'} is not an alert. "
            f"Alerts are: {', '.join(ALERTS)}."
        )
    return tuple(dict.fromkeys(items))


def parse_night_only(text: str) -> tuple[str, ...]:
    kinds = parse_alerts(text, "--night-only")
    return kinds


def parse_mask(text: str) -> Mask:
    """`left,top,right,bottom` (a rectangle) or `x1,y1,x2,y2,x3,y3,...` (a polygon)."""
    try:
        numbers = [round(float(n)) for n in text.replace(" ", "").split(",") if n != ""]
    except ValueError:
        numbers = []
    if len(numbers) == 4:
        left, top, right, bottom = numbers
        if right > left >= 0 and bottom > top >= 0:
            return Mask(((left, top), (right, top), (right, bottom), (left, bottom)))
    elif len(numbers) >= 6 and len(numbers) % 2 == 0 and min(numbers) >= 0:
        return Mask(tuple(zip(numbers[::2], numbers[1::2], strict=True)))
    raise InvalidRequestError(
        f"{text!r} is not a mask. Give a rectangle in the camera's pixels as "
        "LEFT,TOP,RIGHT,BOTTOM (e.g. 0,0,320,120), or a polygon as X1,Y1,X2,Y2,X3,Y3,..."
    )


def check_source(source: str) -> str:
    """A camera source: rtsp://, http(s):// (MJPEG), /dev/videoN, or a video file or folder."""
    if "://" in source:
        scheme = source.split("://", 1)[0].lower()
        if scheme not in _SCHEMES:
            raise InvalidRequestError(
                f"{redact_url(source)!r} is not a camera source Regard reads: give an rtsp:// "
                "or http:// (MJPEG) address, a device like /dev/video0, a video file or a "
                "folder of clips."
            )
    elif not source.strip():
        raise InvalidRequestError("Give the camera's source: an rtsp:// address, a file...")
    return source


def redact_url(url: str) -> str:
    """`url` with any password (and user name) replaced by ***: for logs and screens."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def redact_text(text: str, source: str) -> str:
    """`text` (an error message, a log line) with `source`'s credentials taken out."""
    if "://" in source and "@" in source:
        text = text.replace(source, redact_url(source))
        userinfo = urlsplit(source).netloc.rsplit("@", 1)[0]
        if userinfo:
            text = text.replace(userinfo, "***")
    return text
