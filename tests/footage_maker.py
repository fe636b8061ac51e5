"""Test videos made from real photos of known people, with exact ground truth.

A video is a *script* of layers: each layer shows one photo, anchored on one of its faces, over
a stretch of time, moving (pan and zoom) between placements, inside a clip rectangle of the
frame (a split screen shows two layers side by side). Since every frame is drawn from known
placements, where each face of each photo is in each frame is known exactly: that is the truth
the video stages are scored against. Nothing made here is committed; videos go to a cache.

    faces = photo_faces(shared, analyser)             # the faces in the photos, found once
    truth = write_video(path, TWO_PEOPLE, faces, ...)  # the video and who is where when

Used by tests/integration/test_footage_real.py and bench/video_index.py.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

RGB = npt.NDArray[np.uint8]

#: Photos a script may use: the identity photos of ../shared/data (one person each) and two
#: group photos of two labelled people each.
IDENTITY_PHOTOS = {
    "face_recognition/identities/obama/obama.jpg": "obama",
    "face_recognition/identities/obama/obama2.jpg": "obama",
    "face_recognition/identities/obama/obama1.jpg": "obama",
    "face_recognition/identities/biden/biden.jpg": "biden",
    "face_recognition/identities/biden/biden2.jpg": "biden",
    "face_recognition/identities/kit_harington/john1.jpeg": "kit_harington",
    "face_recognition/identities/kit_harington/johnsnow_test1.jpg": "kit_harington",
    "face_recognition/identities/rose_leslie/img1.jpg": "rose_leslie",
    "face_recognition/identities/rose_leslie/img2.jpg": "rose_leslie",
    "face_recognition/identities/alex_lacamoire/img1.jpg": "alex_lacamoire",
    "face_recognition/identities/alex_lacamoire/alex_lacamoire1.jpg": "alex_lacamoire",
    "face_recognition/identities/lin_manuel_miranda/lin-manuel-miranda.png": "lin_manuel_miranda",
    "facenet_pytorch/identities/angelina_jolie/1.jpg": "angelina_jolie",
    "facenet_pytorch/identities/kate_siegel/1.jpg": "kate_siegel",
    "facenet_pytorch/identities/paul_rudd/1.jpg": "paul_rudd",
    "facenet_pytorch/identities/shea_whigham/1.jpg": "shea_whigham",
}
GROUP_PHOTOS = {
    "face_recognition/group/two_people.jpg": ("obama", "biden"),
    "face_recognition/group/kit_with_rose.jpg": ("kit_harington", "rose_leslie"),
}


# --- the faces in the photos -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhotoFace:
    person: str  # the labelled identity, or "<photo>#<n>" for a stranger in the background
    box: tuple[float, float, float, float]  # x, y, w, h in upright photo pixels


def load_photo(shared: Path, rel: str) -> RGB:
    with Image.open(shared / "photos" / rel) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.uint8)


def photo_faces(
    shared: Path, analyser: Any, cache: Path | None = None
) -> dict[str, list[PhotoFace]]:
    """Every face YuNet finds in the script photos, largest first, named: the largest face of
    an identity photo is its person; the two labelled faces of a group photo are told apart by
    their likeness to the identity photos. `analyser` is a `regard.pipeline.analyse.Analyser`
    (the real models). Cached in `cache` (JSON) when given."""
    if cache is not None and cache.is_file():
        raw = json.loads(cache.read_text())
        return {k: [PhotoFace(f["person"], tuple(f["box"])) for f in v] for k, v in raw.items()}
    found: dict[str, list[PhotoFace]] = {}
    refs: dict[str, list[npt.NDArray[np.float32]]] = {}
    analysed = {}
    for rel in [*IDENTITY_PHOTOS, *GROUP_PHOTOS]:
        faces = analyser.analyse_path(shared / "photos" / rel).faces
        analysed[rel] = sorted(faces, key=lambda f: -f.detection.box.w)
    for rel, person in IDENTITY_PHOTOS.items():
        faces = analysed[rel]
        if not faces:
            raise RuntimeError(f"no face found in {rel}")
        refs.setdefault(person, []).append(faces[0].embedding)
        found[rel] = [
            PhotoFace(person if i == 0 else f"{rel}#{i}", _box(f.detection.box))
            for i, f in enumerate(faces)
        ]
    for rel, people in GROUP_PHOTOS.items():
        faces = analysed[rel]
        named: list[PhotoFace] = []
        taken: set[str] = set()
        for i, f in enumerate(faces):
            person = f"{rel}#{i}"
            if i < len(people):
                sims = {p: max(float(f.embedding @ r) for r in refs[p]) for p in people}
                best = max(sims, key=lambda p: sims[p])
                if best in taken or sims[best] < 0.4:
                    raise RuntimeError(f"cannot tell who face {i} of {rel} is: {sims}")
                taken.add(best)
                person = best
            named.append(PhotoFace(person, _box(f.detection.box)))
        found[rel] = named
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({k: [asdict(f) for f in v] for k, v in found.items()}))
    return found


def _box(b: Any) -> tuple[float, float, float, float]:
    return (float(b.x), float(b.y), float(b.w), float(b.h))


# --- scripts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """At `t` seconds, the anchor face's centre is at (`cx`, `cy`) and it is `width` wide,
    all as fractions of the frame's width and height."""

    t: float
    cx: float
    cy: float
    width: float


@dataclass(frozen=True, slots=True)
class Layer:
    """`photo` shown from the first place's time until `until`, moving linearly between the
    places, drawn only inside `clip` (x0, y0, x1, y1 as fractions of the frame)."""

    photo: str
    places: tuple[Place, ...]
    until: float
    clip: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)

    @property
    def start(self) -> float:
        return self.places[0].t

    def place_at(self, t: float) -> Place:
        ps = self.places
        if t <= ps[0].t:
            return ps[0]
        for a, b in itertools.pairwise(ps):
            if t <= b.t:
                f = (t - a.t) / (b.t - a.t)
                return Place(
                    t,
                    *(
                        getattr(a, k) + (getattr(b, k) - getattr(a, k)) * f
                        for k in ("cx", "cy", "width")
                    ),
                )
        return ps[-1]


@dataclass(frozen=True, slots=True)
class Script:
    seconds: float
    layers: tuple[Layer, ...]


LEFT = (0.0, 0.0, 0.5, 1.0)
RIGHT = (0.5, 0.0, 1.0, 1.0)

#: A few seconds with two people: Obama from a cut at 1.3 s to a cut at 5.4 s on the left; Kit
#: Harington sliding in from the right edge from 2.0 s (in full view from about 2.6 s) until a
#: cut at 6.7 s; nobody before 1.3 s or after 6.7 s.
TWO_PEOPLE = Script(
    seconds=8.0,
    layers=(
        Layer(
            "face_recognition/identities/obama/obama.jpg",
            (Place(1.3, 0.25, 0.42, 0.16), Place(5.4, 0.23, 0.47, 0.18)),
            until=5.4,
            clip=LEFT,
        ),
        Layer(
            "face_recognition/identities/kit_harington/john1.jpeg",
            (
                Place(2.0, 1.02, 0.45, 0.15),
                Place(3.0, 0.75, 0.45, 0.15),
                Place(6.7, 0.74, 0.5, 0.16),
            ),
            until=6.7,
            clip=RIGHT,
        ),
    ),
)


# --- truth ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class TruthTrack:
    """One face of one layer, frame by frame: where it is when it can be seen."""

    id: str
    person: str
    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)

    def intervals(self, fps: float, min_px: float = 0.0) -> list[tuple[float, float]]:
        """(start, end) seconds of each run of frames in which the face is seen at least
        `min_px` wide; a frame at t shows until t + 1/fps."""
        frames = sorted(f for f, b in self.boxes.items() if b[2] >= min_px)
        runs: list[tuple[float, float]] = []
        for f in frames:
            if runs and abs(runs[-1][1] - f / fps) < 0.5 / fps:
                runs[-1] = (runs[-1][0], (f + 1) / fps)
            else:
                runs.append((f / fps, (f + 1) / fps))
        return runs


@dataclass(slots=True)
class Truth:
    width: int  # upright
    height: int
    fps: int
    frames: int
    tracks: list[TruthTrack]

    def save(self, path: Path) -> None:
        data = {
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "tracks": [
                {"id": t.id, "person": t.person, "boxes": {str(k): v for k, v in t.boxes.items()}}
                for t in self.tracks
            ],
        }
        path.write_text(json.dumps(data))

    @classmethod
    def load(cls, path: Path) -> Truth:
        d = json.loads(path.read_text())
        tracks = [
            TruthTrack(t["id"], t["person"], {int(k): tuple(v) for k, v in t["boxes"].items()})
            for t in d["tracks"]
        ]
        return cls(d["width"], d["height"], d["fps"], d["frames"], tracks)

    def visible(
        self, min_px: float = 40.0, min_seconds: float = 1.0
    ) -> list[tuple[str, str, float, float]]:
        """(track id, person, start, end) of every stretch a face is seen at least `min_px`
        wide for at least `min_seconds`: what an index must find."""
        out = []
        for t in self.tracks:
            for a, b in t.intervals(self.fps, min_px):
                if b - a >= min_seconds - 1e-9:
                    out.append((t.id, t.person, a, b))
        return sorted(out, key=lambda r: (r[2], r[0]))


# --- drawing -------------------------------------------------------------------------------------


class _PreparedLayer:
    """A layer's photo, shrunk once to its largest size in the video (area averaging), so each
    frame's warp only shrinks it a little more (a bilinear warp aliases below half size)."""

    def __init__(
        self, layer: Layer, photo: RGB, faces: list[PhotoFace], anchor: PhotoFace, frame_width: int
    ) -> None:
        self.layer = layer
        self.faces = faces
        self.anchor = anchor
        biggest = max(p.width for p in layer.places) * frame_width / anchor.box[2]
        self.pre = min(1.0, biggest * 1.05)
        if self.pre < 1.0:
            h, w = photo.shape[:2]
            size = (max(1, round(w * self.pre)), max(1, round(h * self.pre)))
            photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
        self.photo = photo

    def matrix(self, t: float, width: int, height: int) -> npt.NDArray[np.float64]:
        """Photo pixels -> frame pixels at time t (a uniform scale and a shift)."""
        p = self.layer.place_at(t)
        ax, ay, aw, ah = self.anchor.box
        s = p.width * width / aw
        return np.array(
            [
                [s, 0.0, p.cx * width - s * (ax + aw / 2)],
                [0.0, s, p.cy * height - s * (ay + ah / 2)],
            ]
        )


def _background(width: int, height: int, t: float) -> RGB:
    """A dim gradient with a soft light drifting over it: something changes, nobody is there.
    Drawn at 1/8 size and enlarged (it is smooth)."""
    w, h = max(2, width // 8), max(2, height // 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w * (0.3 + 0.4 * math.sin(t * 0.7) ** 2)
    cy = h * (0.4 + 0.2 * math.cos(t * 0.5))
    glow = 60.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.25 * w) ** 2))
    base = 30.0 + 25.0 * yy / h
    img = np.stack([base + glow * 0.9, base + glow * 0.7, base + glow * 0.5], axis=2)
    small = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR))


def render(
    script: Script,
    faces: dict[str, list[PhotoFace]],
    shared: Path,
    width: int,
    height: int,
    fps: int,
    grain: float = 2.0,
    seed: int = 0,
) -> Iterator[tuple[int, RGB, list[tuple[str, str, tuple[float, float, float, float]]]]]:
    """Frame index, upright RGB frame, and the faces seen in it: (track id, person, box)."""
    prepared: dict[int, _PreparedLayer] = {}
    photos: dict[str, RGB] = {}
    rng = np.random.default_rng(seed)
    # Grain from a few fields shifted each frame, as drawing 6 MP of fresh noise a frame costs
    # more than the rest together; the encoder still sees it change everywhere.
    noise = []
    for _ in range(4):
        field = rng.normal(0, grain, (height + 64, width + 64, 1)).repeat(3, axis=2)
        noise.append(
            (np.clip(field, 0, 255).astype(np.uint8), np.clip(-field, 0, 255).astype(np.uint8))
        )
    bg_cache: dict[int, RGB] = {}
    n = round(script.seconds * fps)
    for i in range(n):
        t = i / fps
        key = i // max(1, fps // 6)  # the background drifts slowly: redraw it 6 times a second
        if key not in bg_cache:
            bg_cache.clear()
            bg_cache[key] = _background(width, height, key / 6)
        frame = bg_cache[key].copy()
        seen: list[tuple[str, str, tuple[float, float, float, float]]] = []
        for li, layer in enumerate(script.layers):
            if not (layer.start <= t < layer.until):
                continue
            if li not in prepared:
                photos.setdefault(layer.photo, load_photo(shared, layer.photo))
                fs = faces[layer.photo]
                prepared[li] = _PreparedLayer(layer, photos[layer.photo], fs, fs[0], width)
            pl = prepared[li]
            m = pl.matrix(t, width, height)
            x0, y0 = round(layer.clip[0] * width), round(layer.clip[1] * height)
            x1, y1 = round(layer.clip[2] * width), round(layer.clip[3] * height)
            shifted = m.copy()
            shifted[0, 2] -= x0
            shifted[1, 2] -= y0
            # The prepared photo is pre-shrunk: fold that into the matrix.
            shifted[:, :2] /= pl.pre
            region = frame[y0:y1, x0:x1]
            cv2.warpAffine(
                pl.photo,
                shifted,
                (x1 - x0, y1 - y0),
                dst=region,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_TRANSPARENT,
            )
            for k, face in enumerate(pl.faces):
                fx, fy, fw, fh = face.box
                bx, by = m[0, 0] * fx + m[0, 2], m[1, 1] * fy + m[1, 2]
                bw, bh = m[0, 0] * fw, m[1, 1] * fh
                ix = max(0.0, min(bx + bw, x1) - max(bx, x0))
                iy = max(0.0, min(by + bh, y1) - max(by, y0))
                if ix * iy >= 0.8 * bw * bh and bw >= 8:
                    seen.append((f"L{li}F{k}", face.person, (bx, by, bw, bh)))
        if grain > 0:
            up, down = noise[i % len(noise)]
            ox, oy = int(rng.integers(0, 64)), int(rng.integers(0, 64))
            # Saturating adds of the positive and negative halves: no float copy of the frame.
            cv2.add(frame, up[oy : oy + height, ox : ox + width], dst=frame)
            cv2.subtract(frame, down[oy : oy + height, ox : ox + width], dst=frame)
        yield i, frame, seen


@dataclass(frozen=True, slots=True)
class Encoding:
    """How the video is encoded. The default is what phone cameras write: H.264 High, a key
    frame every second, no B-frames, a constant-ish bit rate (`kbps`; phones spend 16-20
    Mbit/s on 1080p30 whatever the picture). `keyint=250` with `scenecut`, B-frames and a
    constant quality (`kbps=0`, `crf`) is x264's own default, as editors and converters
    write."""

    codec: str = "libx264"
    keyint: int = 30
    bframes: int = 0
    scenecut: bool = False
    crf: int = 20
    kbps: int = 0  # a target bit rate instead of a constant quality
    preset: str = "veryfast"
    container_options: tuple[tuple[str, str], ...] = ()

    def options(self) -> dict[str, str]:
        if self.codec == "libx264":
            params = f"keyint={self.keyint}:min-keyint={self.keyint if not self.scenecut else 1}"
            params += f":bframes={self.bframes}:scenecut={40 if self.scenecut else 0}"
            if self.kbps:
                params += f":bitrate={self.kbps}:vbv-maxrate={self.kbps * 5 // 4}"
                params += f":vbv-bufsize={self.kbps * 5 // 4}"
                return {"preset": self.preset, "x264-params": params}
            return {"crf": str(self.crf), "preset": self.preset, "x264-params": params}
        if self.codec == "libx265":
            params = f"keyint={self.keyint}:min-keyint={self.keyint}:bframes={self.bframes}"
            params += ":scenecut=0:log-level=error"
            return {"crf": str(self.crf + 4), "preset": "ultrafast", "x265-params": params}
        if self.codec == "libvpx-vp9":
            return {
                "crf": "40",
                "b": "0",
                "deadline": "realtime",
                "cpu-used": "8",
                "g": str(self.keyint),
            }
        if self.codec == "libsvtav1":
            return {"crf": "45", "preset": "12", "g": str(self.keyint)}
        return {"g": str(self.keyint)}


def write_video(
    path: Path,
    script: Script,
    faces: dict[str, list[PhotoFace]],
    shared: Path,
    *,
    size: tuple[int, int] = (640, 360),
    fps: int = 30,
    encoding: Encoding | None = None,
    rotation: int = 0,
    grain: float = 2.0,
) -> Truth:
    """Write `script` as a video at `path` and return its truth (in upright pixels).

    With `rotation` (90, 180 or 270) the pictures are stored turned the other way, with a
    display matrix that tells players to turn them upright, as phones store portrait video."""
    enc = encoding or Encoding()
    width, height = size
    tracks: dict[str, TruthTrack] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=dict(enc.container_options)) as out:
        stream = out.add_stream(enc.codec, rate=fps, options=enc.options())
        turns = (rotation // 90) % 4
        stream.width, stream.height = (height, width) if turns % 2 else (width, height)
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps * 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        frames = 0
        for i, frame, seen in render(script, faces, shared, width, height, fps, grain):
            for tid, person, box in seen:
                tracks.setdefault(tid, TruthTrack(tid, person)).boxes[i] = box
            stored = np.ascontiguousarray(np.rot90(frame, -turns)) if turns else frame
            vf = av.VideoFrame.from_ndarray(stored, format="rgb24")
            vf.pts = i * 1000
            vf.time_base = stream.time_base
            out.mux(stream.encode(vf))
            frames += 1
        out.mux(stream.encode(None))
    return Truth(width, height, fps, frames, sorted(tracks.values(), key=lambda t: t.id))


def truncate(source: Path, dest: Path, keep: float) -> Path:
    """A copy of `source` cut off after `keep` of its bytes, as an interrupted copy leaves it."""
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest


# --- a long family-video-like script for the benchmark ------------------------------------------


def long_script(minutes: float, seed: int = 7) -> Script:
    """Shots of 3-12 s chosen by a seeded draw: one person panning or zooming (sometimes in
    or out of view), two people side by side, a group photo, a cut to another person at the
    same place, and stretches with nobody."""
    rng = np.random.default_rng(seed)
    singles = list(IDENTITY_PHOTOS)
    groups = list(GROUP_PHOTOS)
    layers: list[Layer] = []
    t = 0.0
    total = minutes * 60.0
    kinds = ["pan", "zoom", "enter", "pair", "group", "swap", "empty"]
    weights = np.array([3, 3, 2, 3, 2, 2, 1], dtype=np.float64)
    while t < total - 3.0:
        length = float(min(total - t, rng.uniform(3.0, 12.0)))
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        end = t + length

        def pick() -> str:
            return singles[int(rng.integers(len(singles)))]

        def w() -> float:
            return float(rng.uniform(0.06, 0.2))  # face width as a share of 1920: 115-380 px

        cx, cy = float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.35, 0.55))
        if kind == "pan":
            size = w()
            dx = float(rng.uniform(-0.2, 0.2))
            layers.append(
                Layer(pick(), (Place(t, cx, cy, size), Place(end, cx + dx, cy, size)), end)
            )
        elif kind == "zoom":
            a, b = w(), w()
            layers.append(Layer(pick(), (Place(t, cx, cy, a), Place(end, cx, cy, b)), end))
        elif kind == "enter":
            # In from one edge, across, and out at the other: starts and ends inside the shot.
            size = w() * 0.8
            side = 1 if rng.random() < 0.5 else -1
            layers.append(
                Layer(
                    pick(),
                    (
                        Place(t, 0.5 - side * 0.65, cy, size),
                        Place(end, 0.5 + side * 0.65, cy, size),
                    ),
                    end,
                )
            )
        elif kind == "pair":
            a, b = pick(), pick()
            while IDENTITY_PHOTOS[b] == IDENTITY_PHOTOS[a]:
                b = pick()
            late = t + float(rng.uniform(0.0, length / 2))
            layers.append(Layer(a, (Place(t, 0.25, cy, w()), Place(end, 0.27, cy, w())), end, LEFT))
            layers.append(
                Layer(b, (Place(late, 0.75, cy, w()), Place(end, 0.73, cy, w())), end, RIGHT)
            )
        elif kind == "group":
            photo = groups[int(rng.integers(len(groups)))]
            size = float(rng.uniform(0.05, 0.09))
            layers.append(
                Layer(photo, (Place(t, 0.5, 0.45, size), Place(end, 0.48, 0.45, size * 1.2)), end)
            )
        elif kind == "swap":
            a, b = pick(), pick()
            while IDENTITY_PHOTOS[b] == IDENTITY_PHOTOS[a]:
                b = pick()
            mid = t + length / 2
            size = w()
            layers.append(Layer(a, (Place(t, cx, cy, size), Place(mid, cx, cy, size)), mid))
            layers.append(Layer(b, (Place(mid, cx, cy, size), Place(end, cx, cy, size)), end))
        t = end
    return Script(seconds=total, layers=tuple(layers))


def family_script(minutes: float, seed: int = 11) -> Script:
    """What a family video is like: long shots (15-50 s) of one to three people held by a
    slowly drifting camera (a few per cent of the frame over the shot, a slow zoom), someone
    coming into view beside the first or leaving part-way through, a few seconds of scenery
    between some shots; cuts only between shots. The case the speed target names; the
    montage of `long_script` (a cut every few seconds) is the worst case."""
    rng = np.random.default_rng(seed)
    singles = list(IDENTITY_PHOTOS)
    groups = list(GROUP_PHOTOS)
    layers: list[Layer] = []
    t = 0.0
    total = minutes * 60.0

    def pick(other: str | None = None) -> str:
        while True:
            p = singles[int(rng.integers(len(singles)))]
            if other is None or IDENTITY_PHOTOS[p] != IDENTITY_PHOTOS[other]:
                return p

    def w() -> float:
        return float(rng.uniform(0.06, 0.16))  # face width as a share of 1920: 115-310 px

    def drift(start: float, end: float, cx: float, cy: float, size: float) -> tuple[Place, ...]:
        dx, dy = float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.03, 0.03))
        zoom = float(rng.uniform(0.85, 1.2))
        return (Place(start, cx, cy, size), Place(end, cx + dx, cy + dy, size * zoom))

    kinds = ["solo", "duo", "arrive", "group", "scenery"]
    weights = np.array([3, 3, 3, 2, 1], dtype=np.float64)
    while t < total - 5.0:
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        length = float(rng.uniform(3.0, 6.0) if kind == "scenery" else rng.uniform(15.0, 50.0))
        length = min(total - t, length)
        end = t + length
        cy = float(rng.uniform(0.38, 0.5))
        if kind == "solo":
            cx = float(rng.uniform(0.35, 0.65))
            layers.append(Layer(pick(), drift(t, end, cx, cy, w()), end))
        elif kind == "duo":
            a = pick()
            b = pick(a)
            layers.append(Layer(a, drift(t, end, 0.25, cy, w()), end, LEFT))
            layers.append(Layer(b, drift(t, end, 0.75, cy, w()), end, RIGHT))
        elif kind == "arrive":
            # The first person all through; the second walks in from the right edge part-way
            # (over about a second and a half) and sometimes walks out again before the cut.
            a = pick()
            b = pick(a)
            size = w()
            layers.append(Layer(a, drift(t, end, 0.25, cy, w()), end, LEFT))
            come = t + float(rng.uniform(3.0, length / 2))
            places = [Place(come, 1.05, cy, size), Place(come + 1.5, 0.74, cy, size)]
            until = end
            if rng.random() < 0.5 and end - come > 12.0:
                go = come + float(rng.uniform(6.0, end - come - 3.0))
                places += [Place(go, 0.76, cy, size), Place(go + 1.5, 1.08, cy, size)]
                until = go + 1.5
            layers.append(Layer(b, tuple(places), until, RIGHT))
        elif kind == "group":
            photo = groups[int(rng.integers(len(groups)))]
            size = float(rng.uniform(0.05, 0.09))
            layers.append(Layer(photo, drift(t, end, 0.5, 0.45, size), end))
        t = end
    return Script(seconds=total, layers=tuple(layers))


def describe(truth: Truth, min_px: float = 40.0) -> list[str]:
    """Who is visible when, a line each: for looking at a made video's truth."""
    return [f"{p:>20} {a:7.2f}-{b:7.2f}  ({tid})" for tid, p, a, b in truth.visible(min_px)]
