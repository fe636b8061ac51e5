"""Muxer: encode and write a video's frames on a thread of their own.

PyAV lets go of the GIL while FFmpeg encodes, so the next frame's face detection runs while
this one is being encoded; encoding is a third of the work at 1080p. Every write to the output
(video frames and copied audio packets alike) goes through the one thread, in order.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, TypeAlias

# Imported where they are used: a `regard` command starts without them (test_start_up.py).
if TYPE_CHECKING:
    import av
    import av.container
    import av.stream
    import av.video.stream


# A string: PyAV's classes take no type arguments at run time.
_Item: TypeAlias = (
    "tuple[av.video.stream.VideoStream, av.VideoFrame | None]"
    " | tuple[None, av.Packet[av.stream.Stream]]"
)


class BackgroundMuxer:
    """Hand it frames to encode and packets to copy; `close` waits for the last and raises
    whatever went wrong on the way."""

    def __init__(self, out: av.container.OutputContainer, depth: int = 4) -> None:
        self._out = out
        # A bounded queue: the decoder cannot run far ahead of the encoder and fill memory.
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="regard-encode", daemon=True)
        self._thread.start()

    def frame(self, stream: av.video.stream.VideoStream, frame: av.VideoFrame | None) -> None:
        """Encode `frame` (None: flush the encoder) and write its packets."""
        self._put((stream, frame))

    def packet(self, packet: av.Packet[av.stream.Stream]) -> None:
        """Write `packet` as it is."""
        self._put((None, packet))

    def close(self) -> None:
        """Wait until everything handed over is written; raise the first error, if any."""
        self._stop()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop without raising (the run failed already and is being cleaned up)."""
        self._stop()

    def _put(self, item: _Item) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so the producer never blocks on a dead consumer
            try:
                if item[0] is None:
                    self._out.mux(item[1])
                else:
                    self._out.mux(item[0].encode(item[1]))
            except BaseException as exc:  # handed to the producer by close() or the next put
                self._error = exc
