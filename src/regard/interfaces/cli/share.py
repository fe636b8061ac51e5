"""`regard export` and `regard anonymise`: copies that are safe to share."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from regard.domain.sharing import BLUR_METHODS, KEEPABLE
from regard.interfaces.cli import render
from regard.interfaces.cli.common import (
    Invocation,
    JsonOpt,
    print_json,
)

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


def export(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Photos, videos or folders of the library to export."),
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
    """Copies of library photos and videos with faces blurred (in every frame of a video) and
    metadata removed (originals untouched).

    PATHS are photos or folders of the library, or names of people (like --person). With
    `--blur all-but "Grandma","Me"` the names after all-but say who stays visible."""
    run: Invocation = ctx.obj
    from regard.engine import ExportOptions, blur_settings

    with run.user_errors(as_json):
        folders, people, names = _split_targets(paths or [], blur, visible)
        options = ExportOptions(
            blur=blur,  # type: ignore[arg-type]
            visible=names,
            method=blur_settings(method).method,
            keep=_names(keep),
            quality=quality,
            rename=rename,
        )
        with run.open_engine() as engine:
            photos = engine.select_for_export(paths=folders, people=[*people, *(person or [])])
            if as_json:
                print_json(engine.shares.export_all(photos, output, options))
                return
            with render.StepProgress(run.out, "exporting", "photos and videos") as bar:
                report = engine.shares.export_all(
                    photos,
                    output,
                    options,
                    progress=lambda n, total: bar.update(n, total),
                )
        videos = report["videos"]
        run.out.print(
            f"Exported {report['photos']} photos"
            + (f" and {len(videos)} videos" if videos else "")
            + f" to {render.escape(report['output'])}: "
            f"{report['faces_blurred']} faces blurred ({report['faces_found_again']} found only "
            f"now), {report['faces_visible']} left visible"
            + (
                f"; in the videos {sum(v['faces_blurred'] for v in videos)} face boxes blurred "
                f"over {sum(v['frames'] for v in videos)} frames, "
                f"{sum(v['appearances_visible'] for v in videos)} appearances left visible, "
                "no sound"
                if videos
                else ""
            )
            + "; no GPS, camera or other metadata"
            + (f" except {', '.join(options.keep)}" if options.keep else "")
            + "."
        )
        if report["skipped"]:
            render.failures_table(
                run.out, [(s["path"], "skipped", s["reason"]) for s in report["skipped"]]
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
    run: Invocation = ctx.obj

    import regard.engine

    with run.user_errors(as_json), ExitStack() as stack:
        bars: list[render.StepProgress] = []

        def progress(done: int, total: int | None) -> None:
            # The bar appears with a video's first frame: a photo has none.
            if not bars:
                bars.append(
                    stack.enter_context(render.StepProgress(run.out, "anonymising", "frames"))
                )
            bars[0].update(done, total)

        copy = regard.engine.anonymise(
            source,
            output,
            method=method,
            keep_audio=keep_audio,
            progress=None if as_json else progress,
        )
        stack.close()
        if as_json:
            print_json(copy.as_dict())
        elif isinstance(copy, regard.engine.AnonymisedVideo):
            run.out.print(
                render.escape(
                    f"Wrote {output}: {copy.frames} frames, {copy.faces_blurred} face boxes "
                    f"blurred ({copy.tracks} faces followed), "
                    + ("sound kept" if copy.audio_kept else "no sound")
                    + f", no metadata; {copy.frames_per_second:.1f} frames/s."
                )
            )
        else:
            run.out.print(
                render.escape(f"Wrote {output}: {copy.faces_blurred} faces blurred, no metadata.")
            )


def register(app: typer.Typer) -> None:
    """Put `regard export` and `regard anonymise` on `app`."""
    app.command()(export)
    app.command()(anonymise)
