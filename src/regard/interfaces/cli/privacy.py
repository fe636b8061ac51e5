"""Consent, opt-out, access, erasure, audit, records, keys and retention on the command line."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from regard.errors import (
    DatabaseEmptyError,
    DatabaseUnavailableError,
    LibraryNotFoundError,
    PrivacyRequestError,
    RegardError,
)
from regard.interfaces.cli import render
from regard.interfaces.cli.common import (
    Invocation,
    JsonOpt,
    print_json,
    shown_database,
)

consent_app = typer.Typer(help="The consent ledger: who agreed to be identified, and for what.")
optout_app = typer.Typer(help="The opt-out registry: faces that are never recognised again.")
xmp_app = typer.Typer(help="Face regions with names in XMP sidecars (digiKam, Lightroom, Immich).")
audit_app = typer.Typer(
    help="The audit log of every identification and privacy action.", invoke_without_command=True
)

FaceIndexOpt = Annotated[
    int | None, typer.Option("--face-index", help="Which face, if the photo has several.")
]


def init(
    ctx: typer.Context,
    policy: Annotated[
        str, typer.Option(help="household (a private library) or organisation (GDPR art. 9).")
    ] = "household",
    controller: Annotated[
        str | None, typer.Option(help="Who is responsible for the library, for the records.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a library with a policy (give --passphrase before `init` to use one)."""
    run: Invocation = ctx.obj
    from regard.domain.privacy import Policy

    with run.user_errors(as_json):
        try:
            chosen = Policy(policy)
        except ValueError:
            raise RegardError(f"{policy!r} is not a policy: household or organisation.") from None
        library = run.library
        if run.database is None and (library / "catalog.sqlite").exists():
            raise RegardError(f"{library} is already a library; its policy cannot change.")
        if run.database is not None and _holds_library(run):
            raise RegardError(
                f"The database {shown_database(run.database)} already holds a library; its "
                "policy cannot change."
            )
        with run.open_engine(create=True, policy=chosen) as engine:
            if controller:
                engine.privacy.set_controller(controller)
            info = engine.status()
        if as_json:
            print_json({k: info[k] for k in ("library", "library_id", "policy", "encryption")})
        else:
            enc = info["encryption"]
            where = (
                f"the key file {enc['key_file']} (back it up: without it the face data "
                "cannot be read)"
                if enc["key"] == "keyfile"
                else "your passphrase"
            )
            place = (
                f"in the database {shown_database(run.database)} (this machine's files in "
                f"{info['library']})"
                if run.database
                else f"at {info['library']}"
            )
            run.out.print(
                f"Created a {info['policy']} library {place}. Face data is encrypted with {where}."
            )


@consent_app.command("grant")
def consent_grant(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The person, by name as on the evidence.")],
    purpose: Annotated[
        str, typer.Option(help="grouping, search, camera, recaps (comma-separated).")
    ],
    evidence: Annotated[
        Path | None, typer.Option(help="The signed form (only its hash is recorded).")
    ] = None,
    evidence_text: Annotated[
        str | None, typer.Option(help="How consent was given, if not on paper.")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="Last day it is valid (2027-06-01).")] = None,
    consent_text: Annotated[
        Path | None, typer.Option(help="The wording agreed to (default: Regard's own).")
    ] = None,
    face: Annotated[
        Path | None, typer.Option(help="A photo of them, to recognise them by (enrolment).")
    ] = None,
    face_index: FaceIndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that someone agreed to be identified for some purposes."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.privacy.grant(
            subject,
            purpose,
            evidence_file=evidence,
            evidence_text=evidence_text,
            expires=expires,
            consent_text_file=consent_text,
            face_photo=face,
            face_index=face_index,
        )
        if as_json:
            print_json(result)
        else:
            run.out.print(
                f"Consent recorded (#{result['record']}): {render.escape(result['subject'])} "
                f"for {', '.join(result['purposes'])}"
                + (f" until {result['expires']}" if result["expires"] else "")
                + "."
                + (
                    f" {result['photos_to_recheck']} photos will be checked again on the next "
                    "`regard index`."
                    if result["photos_to_recheck"]
                    else ""
                )
            )


@consent_app.command("withdraw")
def consent_withdraw(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="The person, by name.")],
    purpose: Annotated[
        str | None, typer.Option(help="Only these purposes (default: all of them).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw consent, at once; as easy as giving it (GDPR art. 7(3))."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.privacy.withdraw(subject, purpose)
        if as_json:
            print_json(result)
        else:
            left = ", ".join(result["still_allowed"]) or "nothing"
            run.out.print(
                f"Withdrawn for {render.escape(result['subject'])}: "
                f"{', '.join(result['withdrawn']) or 'nothing that was active'}. Still allowed: "
                f"{left}. Face vectors deleted: {result['removed']['embeddings']}."
            )


@consent_app.command("list")
def consent_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Everyone in the consent ledger, what they allow today, and their records."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.privacy.consents()
        if as_json:
            print_json(rows)
        else:
            render.consents(run.out, rows)


@optout_app.command("add")
def optout_add(
    ctx: typer.Context,
    selfie: Annotated[Path, typer.Argument(help="A photo of the person who opts out.")],
    face_index: FaceIndexOpt = None,
    note: Annotated[str | None, typer.Option(help="A note, e.g. when they asked.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Never recognise this face again: existing matches lose their face data, new ones
    never get any."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.require_key()
        result = engine.privacy.optout(selfie, face_index=face_index, note=note)
        if as_json:
            print_json(result)
        else:
            run.out.print(
                f"Opt-out #{result['optout']} recorded. {result['faces_excluded']} faces in the "
                f"library matched: their face data is deleted and they will be blurred on "
                "export. Future photos of them are never recognised."
            )


@optout_app.command("list")
def optout_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The opt-outs recorded, with how many faces each excludes."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.privacy.optout_list()
        if as_json:
            print_json(rows)
        else:
            for r in rows:
                run.out.print(
                    f"#{r['optout']} {r['created_at']} by {r['actor']}: "
                    f"{r['faces_excluded']} faces excluded"
                    + (f" — {render.escape(r['note'])}" if r["note"] else "")
                )
            if not rows:
                run.out.print("No opt-outs.")


def access_report(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write.")],
    person: Annotated[str | None, typer.Option(help="The person, by name or id.")] = None,
    face: Annotated[
        Path | None, typer.Option(help="A photo of the person (e.g. a selfie).")
    ] = None,
    face_index: FaceIndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Everything held about one person (GDPR art. 15), as a zip they can read: manifest,
    summary, their photos and a still of each of their moments in videos, every other face
    blurred."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.require_key()
        result = engine.privacy.access_report(
            output, person=person, photo=face, face_index=face_index
        )
        if as_json:
            print_json(result)
        else:
            run.out.print(
                f"Wrote {result['report']}: {result['faces']} faces in {result['photos']} photos"
                + (
                    f" ({result['photos_missing']} photo files no longer exist)"
                    if result["photos_missing"]
                    else ""
                )
                + (
                    f", {result['stills']} stills of their moments in {result['videos']} videos"
                    if result["videos"]
                    else ""
                )
                + "."
            )


def erase(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option(help="The person to erase, by name or id.")] = None,
    face: Annotated[
        Path | None, typer.Option(help="A photo of the person to erase (e.g. a selfie).")
    ] = None,
    face_index: FaceIndexOpt = None,
    with_photos: Annotated[
        bool, typer.Option("--with-photos", help="Also delete the photo files they are in.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person (GDPR art. 17) and print the receipt. Photos stay unless --with-photos."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.require_key()
        preview = engine.privacy.erasure_preview(person, face, face_index)
        if not yes:
            if not sys.stdin.isatty():
                raise PrivacyRequestError(
                    f"This erases {preview['faces']} faces and {len(preview['people'])} "
                    "people for good. Add --yes to confirm."
                )
            names = ", ".join(p["name"] or f"P{p['id']}" for p in preview["people"])
            typer.confirm(
                f"Erase {preview['faces']} faces"
                + (f" and {names}" if names else "")
                + (" AND DELETE THEIR PHOTO FILES" if with_photos else "")
                + "?",
                abort=True,
            )
        if person is not None:
            receipt = engine.privacy.erase_person(person, with_photos=with_photos)
        else:
            assert face is not None
            receipt = engine.privacy.erase_face(
                face, face_index=face_index, with_photos=with_photos
            )
        if as_json:
            print_json(receipt)
        else:
            render.erasure_receipt(run.out, receipt)


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="Only entries from this date on.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log (entries never hold names or face data)."""
    run: Invocation = ctx.obj
    if ctx.invoked_subcommand is not None:
        return
    with run.user_errors(as_json), run.open_engine() as engine:
        rows = engine.privacy.audit_entries(since)
        if as_json:
            print_json(rows)
        else:
            render.audit(run.out, rows)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the audit log's hash chain: any edited or deleted entry is found and named."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.privacy.verify_audit()
        if as_json:
            print_json(result.as_dict())
        elif result.ok:
            run.out.print(f"The audit log is intact: {result.entries} entries.")
        else:
            for problem in result.problems:
                run.err.print(f"[bold red]audit:[/] {problem}")
        if not result.ok:
            raise typer.Exit(1)


def records(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The record of processing activities (GDPR art. 30), from the live configuration."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        info = engine.records()
        if as_json:
            print_json(info)
        else:
            render.records(run.out, info)


def rekey(
    ctx: typer.Context,
    new_passphrase: Annotated[
        bool, typer.Option("--new-passphrase", help="Protect the library with a new passphrase.")
    ] = False,
    new_key_file: Annotated[
        Path | None, typer.Option(help="Protect it with this (new or existing) key file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-encrypt all face data under a new key; the old key opens nothing afterwards."""
    from regard.engine import KeyConfig

    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        passphrase = None
        if new_passphrase:
            passphrase = typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
        result = engine.rekey(KeyConfig(passphrase=passphrase, key_file=new_key_file))
        if as_json:
            print_json(result)
        else:
            where = result["key_file"] if result["key"] == "keyfile" else "the new passphrase"
            run.out.print(
                f"Re-encrypted {result['resealed']} face vectors with a new key, "
                f"protected by {where}."
            )


def retention(
    ctx: typer.Context,
    unassigned_days: Annotated[
        str | None,
        typer.Option(
            help="Delete face data of faces in no person after this many days ('none' to keep)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set how long face data is kept (applied by `regard maintain`)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        if unassigned_days is not None:
            days = None if unassigned_days.lower() == "none" else int(unassigned_days)
            schedule = engine.privacy.set_retention("unassigned-days", days)
        else:
            schedule = engine.privacy.retention_schedule()
        if as_json:
            print_json(schedule)
        else:
            for name, days_ in schedule.items():
                run.out.print(f"{name}: {days_ if days_ is not None else 'kept'}")


def maintain(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Apply the retention schedule and empty what has been in the trash for 30 days (run it
    from cron or a timer)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        engine.require_key()
        applied = engine.privacy.apply_retention()
        result = replace(applied, trash_emptied=engine.trash.empty_due().photos)
        cameras = engine.cameras.apply_retention()
        if as_json:
            print_json({**result.as_dict(), "cameras": cameras})
        else:
            run.out.print(
                f"Retention applied: {result['unassigned_vectors_deleted']} face "
                "vectors past their retention period deleted; "
                f"{result.trash_emptied} photos in the trash for 30 days deleted for good. "
                f"{cameras['events_deleted']} camera events and "
                f"{cameras['unknown_faces_deleted']} unknown faces' crops past theirs."
            )


PathsArg = Annotated[
    list[Path] | None, typer.Argument(help="Photos or folders of the library (default: all).")
]


@xmp_app.command("write")
def xmp_write(
    ctx: typer.Context,
    paths: PathsArg = None,
    all_faces: Annotated[
        bool, typer.Option("--all-faces", help="Also write regions of faces with no name.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write face regions with names to `photo.jpg.xmp` sidecars (the photos are untouched)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.xmp.write(paths, all_faces=all_faces)
        if as_json:
            print_json(result)
        else:
            _skipped_videos(run, result)
            run.out.print(
                f"Wrote {result.get('sidecars', 0)} sidecars with "
                f"{result.get('named_regions', 0)} named face regions"
                + (
                    f"; {result['unwritable']} could not be written"
                    if result.get("unwritable")
                    else ""
                )
                + "."
            )


def _skipped_videos(run: Invocation, result: dict[str, Any]) -> None:
    for path in result["skipped_videos"]:
        run.out.print(
            f"{path}: skipped, a video (XMP face regions are for photos: a region has no time).",
            markup=False,
        )


@xmp_app.command("import")
def xmp_import(ctx: typer.Context, paths: PathsArg = None, as_json: JsonOpt = False) -> None:
    """Name faces from the face regions other programs wrote (sidecars or embedded XMP)."""
    run: Invocation = ctx.obj
    with run.user_errors(as_json), run.open_engine() as engine:
        result = engine.xmp.import_names(paths)
        if as_json:
            print_json(result)
        else:
            _skipped_videos(run, result)
            skipped = {
                k: v for k, v in result.items() if k not in ("named", "people", "skipped_videos")
            }
            run.out.print(
                f"Named {result.get('named', 0)} faces ("
                f"{len(result['people'])} people)"
                + (f"; not taken: {skipped}" if skipped else "")
                + "."
            )


def register(app: typer.Typer) -> None:
    """Put the privacy commands on `app`: consent, optout, xmp, audit and the rights and keys."""
    app.add_typer(consent_app, name="consent")
    app.add_typer(optout_app, name="optout")
    app.add_typer(xmp_app, name="xmp")
    app.add_typer(audit_app, name="audit")
    app.command()(init)
    app.command("access-report")(access_report)
    app.command()(erase)
    app.command()(records)
    app.command()(rekey)
    app.command()(retention)
    app.command()(maintain)


def _holds_library(run: Invocation) -> bool:
    """The --database already holds a Regard library (one that was opened)."""
    try:
        with run.open_engine():
            return True
    except (DatabaseEmptyError, DatabaseUnavailableError, LibraryNotFoundError) as exc:
        if isinstance(exc, DatabaseUnavailableError):
            raise
        return False
    except RegardError:
        return True  # there, but not to be opened without its key, say
