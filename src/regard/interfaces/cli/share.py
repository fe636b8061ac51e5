"""`regard export` and `regard anonymise`: copies that are safe to share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from regard.errors import RegardError
from regard.interfaces.cli import render
from regard.interfaces.cli.common import (
    Invocation,
    JsonOpt,
    print_json,
)
from regard.pipeline.anonymise.blur import BLUR_METHODS, BlurSettings
from regard.pipeline.anonymise.clean_encode import KEEPABLE

MethodOpt = Annotated[
    str,
    typer.Option(
        "--method", help=f"How faces are hidden: {', '.join(BLUR_METHODS)}.", show_default=True
    ),
]


def _names(values: list[str] | None) -> tuple[str, ...]:
    """`--visible "A","B" --visible C` -> ("A", "B", "C")."""
    out: list[str] = []
    for value in values or []:
        out += [v.strip().strip('"').strip() for v in value.split(",")]
    return tuple(v for v in out if v)


def _split_targets(
    args: list[Path], blur: str, visible: list[str] | None
) -> tuple[list[Path], list[str], tuple[str, ...]]:
    """Folders, people and the visible names from the positional arguments: what exists on
    disk is a photo or folder; `--blur all-but A,B` leaves `A,B` as the last argument (when
    --visible is not given); any other word is a person."""
    folders = [a for a in args if a.exists()]
    words = [str(a) for a in args if not a.exists()]
    names = _names(visible)
    if blur == "all-but" and not names and words:
        names = _names([words.pop()])
    return folders, words, names


def _method(name: str) -> BlurSettings:
    if name not in BLUR_METHODS:
        raise RegardError(f"{name!r} is not a blur method: use one of {', '.join(BLUR_METHODS)}.")
    return BlurSettings(method=name)


def export(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Photos or folders of the library to export.")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder the copies are written to.")
    ] = Path("regard-export"),
    person: Annotated[
        list[str] | None,
        typer.Option("--person", help="Export the photos of this person (name or P12)."),
    ] = None,
    blur: Annotated[
        str,
        typer.Option(
            "--blur",
            help="Who is blurred: unconsented (everyone without a consent record), all, "
            "all-but (everyone but --visible), none (metadata is still removed).",
        ),
    ] = "unconsented",
    visible: Annotated[
        list[str] | None,
        typer.Option("--visible", help='With --blur all-but: who stays visible, "A","B".'),
    ] = None,
    method: MethodOpt = "gaussian",
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            help=f"EXIF fields to keep (comma-separated), e.g. DateTimeOriginal. "
            f"Allowed: {', '.join(sorted(KEEPABLE))}.",
        ),
    ] = None,
    quality: Annotated[int, typer.Option(help="JPEG/WebP quality of the copies.")] = 90,
    rename: Annotated[
        bool, typer.Option("--rename", help="Name the copies photo-0001.jpg… (names can tell).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copies of library photos with faces blurred and metadata removed (originals untouched).

    PATHS are photos or folders of the library, or names of people (like --person). With
    `--blur all-but "Grandma","Me"` the names after all-but say who stays visible."""
    run: Invocation = ctx.obj
    from regard.services.export import ExportOptions

    with run.user_errors(as_json):
        folders, people, names = _split_targets(paths or [], blur, visible)
        options = ExportOptions(
            blur=blur,  # type: ignore[arg-type]
            visible=names,
            method=_method(method).method,
            keep=_names(keep),
            quality=quality,
            rename=rename,
        )
        with run.open_engine() as engine:
            photos = engine.exporter.select(folders, [*people, *(person or [])])
            if as_json:
                report = engine.exporter.export(photos, output, options)
                print_json(report.as_dict())
                return
            with render.StepProgress(run.out, "exporting", "photos") as bar:
                report = engine.exporter.export(
                    photos, output, options, progress=lambda n, total, _p: bar.update(n, total)
                )
        run.out.print(
            f"Exported {report.photos} photos to {render.escape(report.output)}: "
            f"{report.faces_blurred} faces blurred ({report.faces_found_again} found only now), "
            f"{report.faces_visible} left visible; no GPS, camera or other metadata"
            + (f" except {', '.join(options.keep)}" if options.keep else "")
            + "."
        )
        if report.skipped:
            render.failures_table(
                run.out, [(s["path"], "skipped", s["reason"]) for s in report.skipped]
            )


def anonymise(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A photo or a video.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where the copy goes (.jpg/.png/.webp; .mp4/.mov/.mkv/.m4v)."
        ),
    ],
    keep_audio: Annotated[
        bool, typer.Option("--keep-audio", help="Keep a video's sound (voices identify too).")
    ] = False,
    method: MethodOpt = "gaussian",
    as_json: JsonOpt = False,
) -> None:
    """Blur every face in a photo, or in every frame of a video; no library needed."""
    from regard.pipeline.models import STANDARD_MODELS
    from regard.pipeline.sniff import sniff

    run: Invocation = ctx.obj

    with run.user_errors(as_json):
        settings = _method(method)
        try:
            with source.open("rb") as fh:
                kind = sniff(fh.read(32)) or ""
        except OSError as exc:
            raise RegardError(f"{source}: cannot be read ({exc.strerror}).") from None
        if keep_audio and kind.startswith("image/"):
            raise RegardError("--keep-audio is for videos; a photo has no sound.")
        STANDARD_MODELS.verify()
        from regard.pipeline.anonymise.redact import ANONYMISE_SCORE_THRESHOLD

        detector = STANDARD_MODELS.sensitive_detector(ANONYMISE_SCORE_THRESHOLD)
        result: dict[str, Any]
        if kind.startswith("image/"):
            from regard.pipeline.anonymise.still import anonymise_image

            still = anonymise_image(source, output, detector, settings=settings)
            result = {
                "source": str(still.source),
                "output": str(still.output),
                "kind": "photo",
                "faces_blurred": still.faces_blurred,
            }
            message = f"Wrote {output}: {still.faces_blurred} faces blurred, no metadata."
        else:
            from regard.pipeline.anonymise.video import (
                VideoProgress,
                VideoReport,
                VideoSettings,
                anonymise_video,
            )

            video = VideoSettings(blur=settings)

            def blur_video(
                progress: Callable[[VideoProgress], None] | None = None,
            ) -> VideoReport:
                return anonymise_video(
                    source,
                    output,
                    detector,
                    settings=video,
                    keep_audio=keep_audio,
                    progress=progress,
                )

            if as_json:
                report = blur_video()
            else:
                with render.StepProgress(run.out, "anonymising", "frames") as bar:
                    report = blur_video(lambda p: bar.update(p.frames_done, p.frames_total))
            result = {
                "source": str(report.source),
                "output": str(report.output),
                "kind": "video",
                "frames": report.frames,
                "faces_blurred": report.boxes_blurred,
                "tracks": report.tracks,
                "audio_kept": report.audio_kept,
                "seconds": round(report.seconds, 2),
            }
            message = (
                f"Wrote {output}: {report.frames} frames, {report.boxes_blurred} face boxes "
                f"blurred ({report.tracks} faces followed), "
                + ("sound kept" if report.audio_kept else "no sound")
                + f", no metadata; {report.frames / max(report.seconds, 1e-9):.1f} frames/s."
            )
        if as_json:
            print_json(result)
        else:
            run.out.print(render.escape(message))


def register(app: typer.Typer) -> None:
    """Put `regard export` and `regard anonymise` on `app`."""
    app.command()(export)
    app.command()(anonymise)
