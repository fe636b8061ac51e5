"""`regard recaps …`: events, trips, on this day, people's years, made on this machine; and
`regard people hide-from-recaps`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from regard.interfaces.cli import render
from regard.interfaces.cli.common import Invocation, JsonOpt, print_json

KIND_NAMES = "today, all, on-this-day, events, trips, people, together, years"

recaps_app = typer.Typer(
    help="Recaps made on this machine from your photos' dates and places: on this day, "
    "events, trips, a person's year, people together, a year in review. People who did not "
    "agree are blurred; nothing is uploaded.",
    invoke_without_command=True,
)

#: The progress bar's words for what a recap's making is busy with.
_STAGES = {
    "anonymising": "blurring faces first",
    "collage": "making the collage",
    "video": "making the video",
}

IdArg = Annotated[str, typer.Argument(help="The recap's id, as `regard recaps` lists it.")]


@recaps_app.callback()
def recaps(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Option("--kind", help=f"Which recaps: {KIND_NAMES}.", show_default=True)
    ] = "today",
    hidden: Annotated[bool, typer.Option("--hidden", help="Include the recaps you hid.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The recaps for today (or of one kind), best first, with the photos chosen for each."""
    if ctx.invoked_subcommand is not None:
        return
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        found = engine.recaps.listing(kind, hidden=hidden)
        if as_json:
            print_json(found)
            return

        def left_out(n: int) -> str:
            return f"{n} hidden recap{'s are' if n > 1 else ' is'} left out (--hidden shows them)."

        if not found.recaps:
            every = engine.recaps.listing("all", hidden=hidden) if kind != "all" else found
            if every.recaps:
                n = len(every.recaps)
                run.out.print(
                    f"None of kind {kind!r}. {n} recap{'s' if n > 1 else ''} in all: "
                    "`regard recaps --kind all` lists them."
                )
                return
            run.out.print(
                "No recaps to show: they are made from photos with dates (and places), "
                "once a day or an event has a few."
                + (f" {left_out(every.hidden)}" if every.hidden else "")
            )
            return
        for r in found.recaps:
            _print_recap(run, r.as_dict())
        if found.hidden:
            run.out.print(left_out(found.hidden))


def _print_recap(run: Invocation, r: dict[str, Any]) -> None:
    dates = r["start"] if r["start"] == r["end"] else f"{r['start']} to {r['end']}"
    run.out.print(
        f"[bold]{render.escape(r['title'])}[/]  [dim]{r['id']}[/]"
        + ("  [yellow](hidden)[/]" if r["hidden"] else "")
    )
    facts = [r["kind"], dates]
    if r["place"]:
        facts.append(r["place"])
    facts.append(f"{len(r['photos'])} of {r['total']} photos and videos")
    if r["people"]:
        facts.append("with " + ", ".join(r["people"]))
    run.out.print("  " + " · ".join(facts), markup=False, highlight=False)
    for p in r["photos"][:5]:
        moment = f" {p['start']:.1f}-{p['end']:.1f} s" if p["media"] == "video" else ""
        blurred = sum(1 for f in p["faces"] if f["blur"])
        note = f" ({blurred} blurred)" if blurred else ""
        run.out.print(f"    {p['path']}{moment}{note}", markup=False, highlight=False)
    if len(r["photos"]) > 5:
        run.out.print(f"    … and {len(r['photos']) - 5} more", markup=False)


@recaps_app.command()
def make(
    ctx: typer.Context,
    recap_id: IdArg,
    collage: Annotated[
        Path | None, typer.Option("--collage", help="Write a collage JPEG here.")
    ] = None,
    video: Annotated[
        Path | None, typer.Option("--video", help="Write a slideshow MP4 (H.264) here.")
    ] = None,
    audio: Annotated[
        Path | None, typer.Option("--audio", help="A sound track for the slideshow.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a recap's collage and/or slideshow: people who did not agree are blurred. Each
    file is written whole or not at all."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        if as_json:
            print_json(engine.recaps.make(recap_id, collage=collage, video=video, audio=audio))
            return
        with render.StepProgress(run.out, "making", "steps") as bar:
            made = engine.recaps.make(
                recap_id,
                collage=collage,
                video=video,
                audio=audio,
                progress=lambda done, total: bar.update(done, total),
                stage=lambda now: bar.describe(_STAGES[now]),
            )
        for path in (made.collage, made.video):
            if path:
                run.out.print(f"Wrote {render.escape(path)}")
        run.out.print(
            f"{made.photos} photos and moments; "
            f"{made.faces_blurred} face{'' if made.faces_blurred == 1 else 's'} blurred, "
            f"{made.faces_shown} shown."
        )


@recaps_app.command()
def hide(ctx: typer.Context, recap_id: IdArg, as_json: JsonOpt = False) -> None:
    """Leave a recap out of the lists (`regard recaps unhide` brings it back)."""
    _hide(ctx, recap_id, True, as_json)


@recaps_app.command()
def unhide(ctx: typer.Context, recap_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show a recap you hid again."""
    _hide(ctx, recap_id, False, as_json)


def _hide(ctx: typer.Context, recap_id: str, hidden: bool, as_json: bool) -> None:
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        change = engine.recaps.hide(recap_id, hidden)
        if as_json:
            print_json(change)
            return
        state = "hidden" if hidden else "shown"
        run.out.print(f"{change.id} is {state}" + ("." if change.changed else " already."))


def hide_from_recaps(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Name or id (P12).")],
    undo: Annotated[bool, typer.Option("--undo", help="Let them back into recaps.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keep a person out of every recap: no recap of their own, and no photo or video moment
    they are in chosen for any other. --undo lets them back in."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        change = engine.recaps.hide_person(person, not undo)
        if as_json:
            print_json(change)
            return
        what = "left out of recaps" if not undo else "back in recaps"
        run.out.print(
            f"{person} ({change.id}) is {what}" + ("." if change.changed else " already.")
        )


def register(app: typer.Typer, people_app: typer.Typer) -> None:
    """Put `regard recaps …` on `app`, and `hide-from-recaps` on `regard people`."""
    app.add_typer(recaps_app, name="recaps")
    people_app.command("hide-from-recaps")(hide_from_recaps)
