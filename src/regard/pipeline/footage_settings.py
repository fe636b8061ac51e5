"""What a footage analysis is asked to do (`FootageSettings`) and what it reports as it goes
(`FootageProgress`): shared by `footage`, which runs it, and `sampling` and `looking`, which it
runs (the design is told in `regard.pipeline.footage`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from regard.pipeline.clip import VideoLimits
from regard.pipeline.gating import GateSettings
from regard.pipeline.linking import LinkSettings
from regard.pipeline.quality import QualityRules


@dataclass(frozen=True, slots=True)
class FootageSettings:
    detect_long_side: int = 960  # the detector sees frames this long: a 40 px face at 1080p is
    # 20 px to it, which YuNet still finds
    coarse_step: float = 1.0  # at most this many seconds between frames looked at first; a
    # person in view for a second is seen at least once
    refine_step: float = 0.2  # where a track starts or ends, a frame every this many seconds
    min_face_px: float = 24.0  # smaller faces (full-resolution pixels) are not followed
    refine_deblocked: bool = False  # frames decoded only to pin a start or an end (not
    # looked at every second) skip the loop filter, a fifth of their decoding, unless this is set
    event_px: float = 40.0  # faces this wide get their start and end pinned by refinement ...
    settled: float = 10.0  # ... but an end after this long is not: the end is known to within
    # half the spacing of the looks, 5 % of 10 s
    gate: GateSettings | None = field(default_factory=GateSettings)  # search only what
    # changed since the last look, and where the faces followed are; None: every look
    # searches the whole frame
    max_faces: int = 3  # frames of each appearance embedded and kept, best first
    distinct_seconds: float = 1.0  # ... at least this far apart when the appearance allows
    ranges: int = 2  # a video at least `split_from` seconds long is cut at key frames into
    # this many time ranges analysed side by side (a thread, a decoder and model sessions
    # each: two cores busy on one video), joined where they meet (`regard.pipeline.seams`)
    split_from: float = 60.0
    link: LinkSettings = field(default_factory=LinkSettings)
    quality: QualityRules = field(default_factory=QualityRules)
    limits: VideoLimits = field(default_factory=VideoLimits)

    def __post_init__(self) -> None:
        if not 0 < self.refine_step <= self.coarse_step:
            raise ValueError("need 0 < refine_step <= coarse_step")
        if self.ranges < 1:
            raise ValueError("ranges must be at least 1")
        if self.max_faces < 1:
            raise ValueError("max_faces must be at least 1")


@dataclass(frozen=True, slots=True)
class FootageProgress:
    position: float  # seconds of the video done
    duration: float | None  # as the header states it
    frames_decoded: int
    frames_looked_at: int


Progress = Callable[[FootageProgress], None]
