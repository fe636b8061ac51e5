"""The timeline as it is paged: indexed photos and videos not in the trash, newest first by
the date they were taken (undated last), then by id, so a page starts exactly where the last
one ended however many photos arrive meanwhile (keyset pagination, over `photos_by_date`)."""

from __future__ import annotations

from typing import Any

from regard.storage.sql import Connection, not_trashed

#: The sort key: the date taken, '' for none (which sorts after every date, newest first).
_KEY = "COALESCE(p.taken_at, '')"
UNDATED = "undated"


class SqliteTimeline:
    """`TimelineRepository` over the catalog's connection (reads only)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def page(
        self, after: tuple[str, int] | None, limit: int, month: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to `limit` items after the key `after` (the date key and id of the last item
        shown), newest first; `month` ("2019-05", or "undated"): only its items."""
        where = ["p.status = 'indexed'", not_trashed("p.id")]
        args: list[Any] = []
        if after is not None:
            # As (key, id) < (?, ?), in the words SQLite seeks the index with (a row value
            # here scans it from the top: a page deep in the library took a second).
            where.append(f"{_KEY} <= ? AND ({_KEY} < ? OR p.id < ?)")
            args += [after[0], after[0], after[1]]
        if month == UNDATED:
            where.append(f"{_KEY} = ''")
        elif month is not None:
            where.append(f"{_KEY} >= ? AND {_KEY} < ?")
            args += [month, month + "~"]  # "~" sorts after every character of a date
        rows = self._db.execute(
            f"SELECT p.id, p.path, u.name AS upload_name, p.taken_at, {_KEY} AS sort_key,"
            " p.width, p.height, p.media, p.duration FROM photos p INDEXED BY photos_by_date"
            " LEFT JOIN upload_names u ON u.path = p.path"
            f" WHERE {' AND '.join(where)} ORDER BY {_KEY} DESC, p.id DESC LIMIT ?",
            (*args, limit),
        )
        return [dict(r) for r in rows]

    def neighbours(self, photo_id: int) -> tuple[int | None, int | None]:
        """The items just before and just after this photo in the timeline's order (a
        viewer's previous and next); a photo not in the timeline (failed, in the trash) has
        them from where it would be."""
        row = self._db.execute(
            f"SELECT {_KEY}, p.id FROM photos p WHERE p.id = ?", (photo_id,)
        ).fetchone()
        if row is None:
            return None, None
        key, me = str(row[0]), int(row[1])
        shown = f"p.status = 'indexed' AND {not_trashed('p.id')}"
        found = []
        for cmp, order in (("> ? OR p.id >", "ASC"), ("< ? OR p.id <", "DESC")):
            edge = ">=" if order == "ASC" else "<="
            hit = self._db.execute(
                "SELECT p.id FROM photos p INDEXED BY photos_by_date"
                f" WHERE {shown} AND {_KEY} {edge} ? AND ({_KEY} {cmp} ?)"
                f" ORDER BY {_KEY} {order}, p.id {order} LIMIT 1",
                (key, key, me),
            ).fetchone()
            found.append(int(hit[0]) if hit else None)
        return found[0], found[1]

    def months(self) -> list[tuple[str, int]]:
        """How many items each month holds ("2019-05"; "undated" last), newest first."""
        # Counted on `photos_by_month` alone, then less what is in the trash (a few rows):
        # a scan of the photos themselves took two seconds at 100,000.
        counts: dict[str | None, int] = {}
        for sql in (
            "SELECT substr(taken_at, 1, 7), COUNT(*) FROM photos INDEXED BY photos_by_month"
            " WHERE status = 'indexed' GROUP BY substr(taken_at, 1, 7)",
            "SELECT substr(p.taken_at, 1, 7), -COUNT(*) FROM trash t"
            " JOIN photos p ON p.id = t.photo_id WHERE p.status = 'indexed'"
            " GROUP BY substr(p.taken_at, 1, 7)",
        ):
            for month, n in self._db.execute(sql):
                counts[month] = counts.get(month, 0) + int(n)
        dated = sorted((m for m in counts if m is not None and counts[m] > 0), reverse=True)
        out = [(str(m), counts[m]) for m in dated]
        if counts.get(None, 0) > 0:
            out.append((UNDATED, counts[None]))
        return out
