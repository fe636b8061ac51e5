"""How the CLI shows things: progress bars, tables, reports. Presentation only."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape as _escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from regard import readable_path
from regard.domain.library import LibraryStatus, PhotoSummary
from regard.domain.moments import MomentMatch, clock, span
from regard.domain.people import HistoryEntry, PersonPage, PersonSummary
from regard.domain.photo import Photo
from regard.domain.rights import AuditEntry, ConsentSubject, ErasureReceipt, RecordOfProcessing
from regard.domain.search import PhotoMatch, ProbeFace, SearchResult

# The engine (and all it loads) is imported where a command runs: `--help` and a mistyped
# command answer without it (tests/unit/interfaces/test_start_up.py).
if TYPE_CHECKING:
    from regard.engine import IndexEvent, IndexReport

FAILURES_SHOWN = 20


def console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Pipes and CI logs get a wide console so long paths are not folded mid-word.
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def escape(text: str) -> str:
    """Text to print: Rich markup escaped, and a path's undecodable bytes shown as \\xNN."""
    return _escape(readable_path(text))


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class _RateColumn(ProgressColumn):
    def __init__(self, unit: str = "files") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0.5 else 0.0
        return Text(f"{rate:5.1f} {self.unit}/s", style="progress.data.speed")


class StepProgress:
    """A bar for work counted in steps (photos exported, frames anonymised): done of total,
    rate, elapsed and ETA. `update(done, total)` may be called from the worker's callback."""

    def __init__(self, console: Console, description: str, unit: str) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(unit),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=None)

    def __enter__(self) -> StepProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, done: int, total: int | None) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def describe(self, description: str) -> None:
        """What the steps count from now on (a new stage: counted again from 0)."""
        self._progress.update(self._task, description=description, completed=0, total=None)


class IndexProgress:
    """Shows an indexing run: files done of total, files/s, faces found, errors, ETA."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("faces [bold]{task.fields[faces]}[/]"),
            TextColumn("errors [bold red]{task.fields[errors]}[/]"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("scanning", total=None, faces=0, errors=0)
        self._faces = 0
        self._errors = 0
        self._started = time.monotonic()

    def __enter__(self) -> IndexProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def handle(self, event: IndexEvent) -> None:
        from regard.engine import FileDone, Outcome, ScanDone

        if isinstance(event, ScanDone):
            self._progress.update(
                self._task, description="indexing", total=event.to_process, completed=0
            )
            if event.unchanged:
                self._progress.console.print(
                    f"{event.files} image files found; {event.unchanged} unchanged since the "
                    "last run (skipped)."
                )
        elif isinstance(event, FileDone):
            self._faces += event.faces
            if event.outcome == Outcome.FAILED:
                self._errors += 1
            self._progress.update(self._task, advance=1, faces=self._faces, errors=self._errors)


def index_report(console: Console, report: IndexReport) -> None:
    c = report.counts
    parts = [
        f"{c.files_seen} files",
        f"{c.files_new} new",
        f"{c.files_changed} changed",
        f"{c.files_moved} moved",
        f"{c.files_copied} copies",
        f"{c.files_unchanged} unchanged",
        f"[red]{c.files_failed} failed[/]" if c.files_failed else "0 failed",
    ]
    console.print(
        f"[bold]Indexed[/] {', '.join(parts)}; {c.faces_found} faces found "
        f"in {report.seconds:.1f} s."
    )
    if report.failures:
        failures_table(console, [(f.path, f.code, f.message) for f in report.failures])
    if report.pruned:
        console.print(f"Removed {len(report.pruned)} photos whose files are gone.")
    elif report.missing:
        console.print(
            f"[yellow]{len(report.missing)} photos in the library are no longer on disk.[/] "
            "Run `regard index --prune` on the same folders to remove them."
        )


def failures_table(console: Console, rows: Sequence[tuple[str, str | None, str | None]]) -> None:
    table = Table(
        title=f"Files that could not be indexed ({len(rows)})",
        title_justify="left",
        show_lines=False,
        expand=False,
    )
    table.add_column("file", overflow="fold")
    table.add_column("problem", style="red", no_wrap=True)
    table.add_column("what happened and what to do", overflow="fold")
    for path, code, message in rows[:FAILURES_SHOWN]:
        detail = (message or "").removeprefix(f"{readable_path(path)}: ")
        table.add_row(escape(path), code or "", escape(detail))
    console.print(table)
    if len(rows) > FAILURES_SHOWN:
        console.print(f"… and {len(rows) - FAILURES_SHOWN} more: `regard status --errors --json`.")


def failures(console: Console, photos: Sequence[Photo]) -> None:
    if not photos:
        console.print("No files failed.")
        return
    failures_table(console, [(p.path, p.error_code, p.error_message) for p in photos])


def probe_faces_table(faces: Sequence[ProbeFace]) -> Table:
    table = Table(title="Faces in the photo (left to right)", title_justify="left")
    table.add_column("--face-index", justify="right")
    table.add_column("box x, y, w, h (px)")
    table.add_column("size", justify="right")
    table.add_column("quality")
    for f in faces:
        table.add_row(
            str(f.index),
            ", ".join(f"{v:.0f}" for v in f.box.as_list()),
            f"{f.size_px:.0f} px",
            "low" if f.low_quality else "good",
        )
    return table


def search_result(console: Console, result: SearchResult) -> None:
    probe = result.probe_face
    console.print(
        f"Searching {result.library_faces} faces for face {probe.index} of "
        f"{escape(result.probe_path)} (threshold {result.threshold:.3f}, "
        f"{result.threshold_source}; expected strangers per search "
        f"≈ {result.expected_false_matches:.2g})."
    )
    if not result.matches and not result.moments:
        console.print("[yellow]No photo in the library matches this face.[/]")
        possible_matches(console, result.possible, result.confirm_as)
        return
    found = f"{len(result.matches)} photos"
    if result.moments:
        found += f" and {count(len(result.moments), 'moment')} in videos"
    table = Table(title=f"{found} with this face, best first", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("photo", overflow="fold")
    if result.moments:
        table.add_column("moment (best)")
    table.add_column("face box x, y, w, h")
    table.add_column("taken")
    # Photos and video moments ranked together: the same vectors, the same threshold.
    rows: list[tuple[float, list[str]]] = []
    for m in result.matches:
        face = m.faces[0]
        flag = " [dim](low quality)[/]" if face.low_quality else ""
        cells = [escape(m.path)] + ([""] if result.moments else [])
        cells += [", ".join(f"{v:.0f}" for v in face.box.as_list()) + flag, (m.taken_at or "")[:10]]
        rows.append((m.score, cells))
    for v in result.moments:
        flag = " [dim](low quality)[/]" if v.low_quality else ""
        moment = f"{span(v.start, v.end)} ({clock(v.best_time)})"
        rows.append(
            (v.score, [escape(v.path), moment, ", ".join(f"{x:.0f}" for x in v.box) + flag, ""])
        )
    rows.sort(key=lambda r: -r[0])
    for rank, (score, cells) in enumerate(rows, 1):
        table.add_row(str(rank), f"{score:.3f}", *cells)
    console.print(table)
    possible_matches(console, result.possible, result.confirm_as)


def possible_matches(
    console: Console, possible: Sequence[PhotoMatch], confirm_as: tuple[str, str | None] | None
) -> None:
    """The second tier: photos beyond the threshold that may be the same person, each with
    why it is only possible, and how to confirm one."""
    if not possible:
        return
    table = Table(
        title=f"Possible matches: {count(len(possible), 'photo')} that may be the same person "
        "(not sure enough to count as matches)",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("photo", overflow="fold")
    table.add_column("face")
    table.add_column("why only possible", overflow="fold")
    for rank, m in enumerate(possible, 1):
        f = m.faces[0]
        table.add_row(
            str(rank), f"{f.score:.3f}", escape(m.path), f"F{f.face_id}", escape(f.reason or "")
        )
    console.print(table)
    who = confirm_as[0] if confirm_as else "P12"
    console.print(
        f"[dim]If one is them, confirm it: `regard people confirm F{possible[0].faces[0].face_id} "
        f"{who}` (grouping then keeps it with them).[/]"
    )


def count(n: int, what: str) -> str:
    """`1 face`, `2 faces`."""
    return f"{n} {what}" + ("" if n == 1 else "s")


def moments(console: Console, found: Sequence[MomentMatch], title: str) -> None:
    """Video moments a search found: the video, when, the best moment and the box there."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("video", overflow="fold")
    table.add_column("moment")
    table.add_column("best")
    table.add_column("face box x, y, w, h")
    for rank, m in enumerate(found, 1):
        flag = " [dim](low quality)[/]" if m.low_quality else ""
        how = f" [dim]({m.source})[/]" if m.source else ""
        table.add_row(
            str(rank),
            f"{m.score:.3f}",
            escape(m.path),
            span(m.start, m.end) + how,
            clock(m.best_time),
            ", ".join(f"{v:.0f}" for v in m.box) + flag,
        )
    console.print(table)


def photos(console: Console, rows: Sequence[PhotoSummary]) -> None:
    table = Table(title=f"{len(rows)} photos", title_justify="left")
    table.add_column("photo", overflow="fold")
    table.add_column("faces", justify="right")
    table.add_column("good", justify="right")
    table.add_column("taken")
    table.add_column("status")
    for r in rows:
        table.add_row(
            escape(r["path"]),
            str(r["faces"]),
            str(r["good_faces"]),
            (r["taken_at"] or "")[:10],
            r["status"],
        )
    console.print(table)


def people(console: Console, rows: Sequence[PersonSummary]) -> None:
    if not rows:
        console.print("No people yet: they form as photos with the same face are indexed.")
        return
    table = Table(title=f"{len(rows)} people", title_justify="left")
    table.add_column("person")
    table.add_column("name")
    table.add_column("faces", justify="right")
    table.add_column("photos", justify="right")
    table.add_column("cover face", overflow="fold")
    for r in rows:
        cover = f"{r['cover_face']} in {escape(r['cover_path'])}" if r.get("cover_path") else ""
        name = escape(r["name"]) if r["name"] else "[dim]unnamed[/]"
        if r.get("hidden"):
            name += " [dim](hidden)[/]"
        videos = r.get("videos") or 0
        photos = str(r["photos"]) + (
            f" ({videos} video{'' if videos == 1 else 's'})" if videos else ""
        )
        table.add_row(r["person"], name, str(r["faces"]), photos, cover)
    console.print(table)


def people_history(console: Console, rows: Sequence[HistoryEntry]) -> None:
    if not rows:
        console.print("No corrections yet.")
        return
    table = Table(title="Corrections, newest first", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("when")
    table.add_column("what", overflow="fold")
    table.add_column("undo", overflow="fold")
    for r in rows:
        if r["undone"]:
            undo = "undone"
        elif r["can_undo"]:
            undo = f"regard people undo {r['entry']}"
        else:
            undo = "[dim]—[/]" if r["why_not"] is None else f"[dim]{escape(r['why_not'])}[/]"
        table.add_row(str(r["entry"]), r["at"][:16].replace("T", " "), escape(r["text"]), undo)
    console.print(table)


def person_detail(console: Console, info: PersonPage) -> None:
    name = f" — {escape(info['name'])}" if info["name"] else " (unnamed)"
    console.print(
        f"[bold]{info['person']}{name}[/]: {info['faces']} faces in "
        f"{info['photos']} photos" + (" (confirmed by you)" if info["confirmed"] else "")
    )
    table = Table(show_header=True)
    table.add_column("photo", overflow="fold")
    table.add_column("taken")
    table.add_column("face")
    table.add_column("box x, y, w, h")
    table.add_column("by")
    for photo in info["photo_list"]:
        for f in photo["faces"]:
            table.add_row(
                escape(photo["path"]),
                (photo["taken_at"] or "")[:10],
                f["face"],
                ", ".join(f"{v:.0f}" for v in f["box"]),
                f["assigned_by"],
            )
    if info.photo_list or not info.moment_list:
        console.print(table)
    if info.moment_list:
        shown = Table(title="Moments in videos", title_justify="left")
        shown.add_column("video", overflow="fold")
        shown.add_column("moment")
        shown.add_column("best")
        shown.add_column("face")
        shown.add_column("box x, y, w, h")
        shown.add_column("by")
        for m in info.moment_list:
            shown.add_row(
                escape(m.path),
                span(m.start, m.end),
                clock(m.best_time),
                m.face,
                ", ".join(f"{v:.0f}" for v in m.box),
                m.assigned_by,
            )
        console.print(shown)


def person_search(console: Console, found: Any, limit: int | None) -> None:
    p = found.person
    name = escape(p["name"]) if p["name"] else "unnamed"
    console.print(
        f"Photos of {p['person']} ({name}); suggestions need similarity {found.threshold:.3f}."
    )
    matches = list(found.matches)[:limit] if limit else list(found.matches)
    found_moments = list(found.moments)[:limit] if limit else list(found.moments)
    if found_moments:
        moments(console, found_moments, f"{count(len(found_moments), 'moment')} in videos")
    if not matches:
        if not found_moments:
            console.print("[yellow]No photos.[/]")
        possible_matches(console, found.possible, (p["person"], p["name"]))
        return
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("photo", overflow="fold")
    table.add_column("face")
    table.add_column("how")
    table.add_column("score", justify="right")
    table.add_column("taken")
    for rank, m in enumerate(matches, 1):
        f = m.faces[0]
        table.add_row(
            str(rank),
            escape(m.path),
            f"F{f.face_id}",
            f.source,
            f"{f.score:.3f}",
            (m.taken_at or "")[:10],
        )
    console.print(table)
    possible_matches(console, found.possible, (p["person"], p["name"]))


def status(console: Console, info: LibraryStatus) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("library", escape(info["library"]))
    table.add_row(
        "photos",
        f"{info['photos']} ({info['indexed']} indexed, {info['photos_with_faces']} with faces)",
    )
    if info.videos:
        table.add_row(
            "videos",
            f"{info.videos} ({info.appearances} appearances of people; among the photos and "
            "faces above)",
        )
    table.add_row("faces", f"{info['faces']} ({info['low_quality_faces']} low quality)")
    table.add_row(
        "people",
        f"{info['people']} ({info['named_people']} named; "
        f"{info['faces_in_people']} faces in people)",
    )
    table.add_row(
        "errors",
        f"[red]{info['errors']}[/] (`regard status --errors` lists them)"
        if info["errors"]
        else "0",
    )
    table.add_row(
        "search",
        f"{info['vector_index']} index, {info['embeddings']} vectors; threshold "
        f"{info['search_threshold']:.3f} (≈{info['expected_false_matches_per_search']:.2g} "
        "strangers per search)",
    )
    for m in info["models"]:
        table.add_row(
            f"model ({m['kind']})",
            f"{m['id']} from {m['package']}, sha256 {m['sha256'][:12]}…, {m['licence']}",
        )
    run = info.get("last_run")
    if run:
        table.add_row(
            "last run",
            f"#{run['id']} {run['status']} at {run['started_at']}: "
            f"{run['files_seen']} files, {run['files_failed']} failed",
        )
    table.add_row("size on disk", human_bytes(info["size_bytes"]))
    console.print(table)


def consents(console: Console, rows: Sequence[ConsentSubject]) -> None:
    if not rows:
        console.print("The consent ledger is empty.")
        return
    table = Table(title="Consent ledger", title_justify="left")
    table.add_column("subject")
    table.add_column("person")
    table.add_column("allowed today")
    table.add_column("records")
    for r in rows:
        history = "; ".join(
            f"#{rec['id']} {rec['action']} {','.join(rec['purposes'])} {rec['at'][:10]}"
            + (f" until {rec['expires']}" if rec["expires"] else "")
            for rec in r["records"]
        )
        table.add_row(
            escape(r["subject"]), r["person"] or "", ", ".join(r["allowed"]) or "none", history
        )
    console.print(table)


def erasure_receipt(console: Console, receipt: ErasureReceipt) -> None:
    removed = receipt["removed"]
    console.print(f"[bold]Erasure receipt[/] (journal entry {receipt['journal_entry']})")
    console.print(f"  request: {escape(receipt['request'])}")
    for key, value in removed.items():
        console.print(f"  {key.replace('_', ' ')}: {value}")
    kept = receipt.get("kept")
    if kept and kept["erasure_templates"]:
        console.print(
            f"  kept: {kept['erasure_templates']} erasure templates, {escape(kept['why'])}"
        )
    check = receipt["verification"]
    verdict = "[green]none found[/]" if check["clean"] else f"[red]FOUND {check['occurrences']}[/]"
    console.print(
        f"  verification: searched {check['files_searched']} library files for "
        f"{check['vectors_searched_for']} erased vectors: {verdict}"
    )
    console.print(
        "  The erasure is journaled outside the library: restoring an older backup "
        "and opening it erases again."
    )


def audit(console: Console, rows: Sequence[AuditEntry]) -> None:
    if not rows:
        console.print("The audit log is empty.")
        return
    table = Table(title=f"Audit log ({len(rows)} entries)", title_justify="left")
    for col in ("#", "at", "actor", "action", "purpose", "subject", "results"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["at"],
            escape(r["actor"]),
            r["action"],
            r["purpose"] or "",
            r["subject"] or "",
            "" if r["result_count"] is None else str(r["result_count"]),
        )
    console.print(table)


def records(console: Console, info: RecordOfProcessing) -> None:
    console.print("[bold]Record of processing activities (GDPR art. 30)[/]")
    for key, value in info.items():
        title = key.replace("_", " ")
        if isinstance(value, list):
            console.print(f"[bold]{title}[/]:")
            for item in value:
                text = (
                    item
                    if isinstance(item, str)
                    else ", ".join(f"{k}: {v}" for k, v in item.items())
                )
                console.print(f"  - {escape(str(text))}")
        elif isinstance(value, dict):
            console.print(f"[bold]{title}[/]:")
            for k, v in value.items():
                console.print(f"  {k}: {escape(str(v))}")
        else:
            console.print(f"[bold]{title}[/]: {escape(str(value))}")
