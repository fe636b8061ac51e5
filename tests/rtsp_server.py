"""An RTSP camera for the tests: real footage, H.264, in a loop, over TCP and UDP.

Run with Debian's Python (GStreamer's RTSP server through gi), never the project's venv:

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --size 640x360 --fps 10 [--gap 3] CLIP...

Each clip is decoded once into memory (scaled to one size and frame rate); then a thread pushes
one frame every 1/fps seconds, clip after clip (and `--gap` seconds of a grey frame between
rounds: an empty scene), for as long as the server runs, whether anyone watches or not — like a
camera. It prints `READY <url>` once it serves, then one JSON line each time a clip (or the
gap) starts being pushed, with the wall-clock time: a benchmark knows when a person first
became visible in the stream. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtspServer  # noqa: E402


def decode(path: str, width: int, height: int, fps: int) -> list[bytes]:
    """Every frame of a clip, I420 at width x height, resampled to fps."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! videoscale ! videorate ! '
        f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1,"
        "pixel-aspect-ratio=1/1 ! appsink name=sink sync=false max-buffers=8"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    frames: list[bytes] = []
    while True:
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
        if sample is None:
            break
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if ok:
            frames.append(bytes(info.data))
            buffer.unmap(info)
    bus = pipeline.get_bus()
    error = bus.pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if error is not None and not frames:
        raise SystemExit(f"cannot decode {path}: {error.parse_error()[0].message}")
    if not frames:
        raise SystemExit(f"cannot decode {path}: no frames")
    return frames


class Camera:
    """The frames, pushed in real time into whichever appsrc the RTSP media has now."""

    def __init__(self, clips: list[tuple[str, list[bytes]]], fps: int, gap: float, grey: bytes):
        self.clips = clips
        self.fps = fps
        self.gap_frames = round(gap * fps)
        self.grey = grey
        self.src: GstApp.AppSrc | None = None
        self.lock = threading.Lock()

    def attach(self, src: GstApp.AppSrc) -> None:
        with self.lock:
            self.src = src

    def schedule(self) -> list[tuple[str, list[bytes]]]:
        rounds = list(self.clips)
        if self.gap_frames:
            rounds.append(("gap", [self.grey] * self.gap_frames))
        return rounds

    def run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        while True:
            for index, (name, frames) in enumerate(self.schedule()):
                line = {"segment": index, "clip": name, "at": time.time(), "frames": len(frames)}
                print(json.dumps(line), flush=True)
                for frame in frames:
                    due += period
                    with self.lock:
                        src = self.src
                    if src is not None:
                        buffer = Gst.Buffer.new_wrapped(frame)
                        src.emit("push-buffer", buffer)
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -1.0:
                        due = time.monotonic()  # fell behind (a busy machine): catch up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clips", nargs="+")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.0)
    args = parser.parse_args()
    Gst.init(None)
    width, height = (int(v) for v in args.size.split("x"))
    clips = [(path, decode(path, width, height, args.fps)) for path in args.clips]
    grey = bytes([128]) * (width * height * 3 // 2)
    camera = Camera(clips, args.fps, args.gap, grey)

    caps = f"video/x-raw,format=I420,width={width},height={height},framerate={args.fps}/1"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( appsrc name=src is-live=true do-timestamp=true format=time caps="{caps}" '
        "max-bytes=0 max-buffers=4 leaky-type=downstream ! videoconvert ! "
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} "
        "bitrate=1500 threads=1 ! video/x-h264,profile=baseline ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)

    def configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
        camera.attach(media.get_element().get_by_name("src"))

    factory.connect("media-configure", configure)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{args.port}")
    threading.Thread(target=camera.run, daemon=True).start()
    print(f"READY rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        GLib.MainLoop().run()
    sys.exit(0)


if __name__ == "__main__":
    main()
