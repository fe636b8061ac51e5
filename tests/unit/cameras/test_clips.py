"""The clip buffer: what a camera holds for its clips (pre-roll back to a key frame, each
visit's packets while it goes on) and that it stays bounded."""

from __future__ import annotations

from fractions import Fraction

from regard.cameras.clips import POST_ROLL, ClipBuffer
from regard.pipeline.camera_frames import MaskPlane


class FakePacket:
    """What the buffer reads of a PyAV packet."""

    time_base = Fraction(1, 10)

    def __init__(self, i: int, key: bool, size: int = 1000) -> None:
        self.pts = self.dts = i
        self.is_keyframe = key
        self.size = size
        self._data = bytes([i % 256]) * size

    def __bytes__(self) -> bytes:
        return self._data


class FakeStream:
    class codec_context:  # noqa: N801
        name = "h264"
        extradata = b"\x01"

    time_base = Fraction(1, 10)
    average_rate = Fraction(10)
    guessed_rate = None


def feed(buffer: ClipBuffer, first: int, last: int, gop: int = 10) -> None:
    """Packets `first`..`last` at 10 a second, a key frame every `gop`."""
    for i in range(first, last + 1):
        buffer.add(FakePacket(i, i % gop == 0), None)


def test_the_ring_holds_the_pre_roll_back_to_a_key_frame() -> None:
    buffer = ClipBuffer(pre_roll=3.0)
    buffer.opened(FakeStream())
    feed(buffer, 0, 200)  # 20 s
    ring = list(buffer._ring)
    assert ring[0].key and ring[0].t <= 20.0 - 3.0
    assert ring[0].t > 20.0 - 3.0 - 1.0  # not a group more than needed
    assert buffer.held_bytes == len(ring) * 1000 <= 41 * 1000


def test_a_visit_gets_its_pre_roll_and_what_follows_to_the_post_roll() -> None:
    buffer = ClipBuffer(pre_roll=2.0)
    buffer.opened(FakeStream())
    feed(buffer, 0, 100)
    buffer.pin("v", 10.0)  # a visit starts at 10 s
    feed(buffer, 101, 200)
    take = buffer.take("v", 15.0, [], MaskPlane(()))
    assert take is not None
    assert take.packets[0].key and take.packets[0].t <= 8.0  # from a key frame before 8 s
    assert take.packets[-1].t == 15.0 + POST_ROLL
    assert (take.start, take.began, take.end) == (8.0, 10.0, 15.0 + POST_ROLL)
    assert buffer.take("v", 15.0, [], MaskPlane(())) is None  # taken once


def test_memory_is_bounded_however_long_a_visit_lasts() -> None:
    buffer = ClipBuffer(pre_roll=3.0, max_seconds=5.0, max_bytes=50_000)
    buffer.opened(FakeStream())
    feed(buffer, 0, 50)
    buffer.pin("long", 5.0)
    feed(buffer, 51, 3000)  # five minutes more
    # The visits hold 50 kB at most; the pre-roll ring (4 s here) comes on top.
    assert buffer.peak_bytes <= 50_000 + 1000 + 41 * 1000
    take = buffer.take("long", 300.0, [], MaskPlane(()))
    assert take is not None and take.packets[-1].t <= 5.0 + 5.0  # cut at max_seconds
    assert buffer.held_bytes <= 41 * 1000  # the pin's packets went with it


def test_a_reconnection_ends_the_clips_where_the_stream_dropped() -> None:
    buffer = ClipBuffer(pre_roll=1.0)
    buffer.opened(FakeStream())
    feed(buffer, 0, 50)
    buffer.pin("v", 4.0)
    feed(buffer, 51, 60)
    buffer.opened(FakeStream())  # the camera dropped and came back: another stream
    feed(buffer, 0, 30)
    take = buffer.take("v", 9.0, [], MaskPlane(()))
    assert take is not None and max(p.t for p in take.packets) <= 6.0
    assert len(buffer._ring) <= 21
