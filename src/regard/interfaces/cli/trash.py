"""`regard trash …`: see what was deleted, restore it, or empty it for good."""

from __future__ import annotations

from typing import Annotated

import typer

from regard.errors import InvalidRequestError
from regard.interfaces.cli.common import Invocation, JsonOpt, print_json

trash_app = typer.Typer(
    help="The trash: photos deleted in the web app, kept 30 days before they go for good.",
    no_args_is_help=True,
)

IdsArg = Annotated[list[int], typer.Argument(help="Photo numbers, as `trash list` shows them.")]


@trash_app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """What is in the trash, the latest deleted first, with when it will be emptied and
    what happens to its file then."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        page = engine.trash.page(limit=limit)
        if as_json:
            print_json(page)
            return
        if not page.total:
            run.out.print("The trash is empty.")
            return
        run.out.print(f"{page.total} in the trash; each is deleted for good {page.days} days on.")
        for item in page.photos:
            fate = "file deleted" if item.file_deleted else "file left on disk, not indexed again"
            run.out.print(
                f"{item.id:>7}  {item.name}  deleted {item.trashed_at[:10]}, "
                f"goes {item.empties_at[:10]} ({fate})",
                markup=False,
                highlight=False,
            )


@trash_app.command()
def restore(ctx: typer.Context, photo_ids: IdsArg, as_json: JsonOpt = False) -> None:
    """Take photos out of the trash, with their faces and people as they were."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.trash.restore(photo_ids)
        if as_json:
            print_json(result)
        else:
            run.out.print(f"Restored {result.changed}; not in the trash: {result.unchanged}.")


@trash_app.command()
def empty(
    ctx: typer.Context,
    photo_ids: Annotated[
        list[int] | None, typer.Argument(help="Only these photos (default: all of the trash).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete for good what is in the trash: its faces and vectors, and the files Regard keeps
    itself (web uploads). Files in your folders stay on disk and are not indexed again."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.require_key()
        count = len(photo_ids) if photo_ids else engine.trash.page(limit=1).total
        if not yes:
            if as_json:
                raise InvalidRequestError("Add --yes: emptying the trash cannot be undone.")
            typer.confirm(f"Delete {count} photos for good? This cannot be undone.", abort=True)
        result = engine.trash.empty(photo_ids or None)
        if as_json:
            print_json(result)
        else:
            run.out.print(
                f"Deleted {result.photos} for good ({result.faces} faces): "
                f"{result.files_deleted} uploaded files deleted, {result.files_left} files "
                "left in your folders (never indexed again)."
            )


def register(app: typer.Typer) -> None:
    """Put `regard trash …` on `app`."""
    app.add_typer(trash_app, name="trash")
