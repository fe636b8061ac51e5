"""The catalog's schema on PostgreSQL: the same migrations (`schema.MIGRATIONS`), each statement
translated (`dialect.schema_statement`), and the triggers, which SQLite and PostgreSQL write
differently, written here for PostgreSQL. A migration with a trigger not written here is
refused when it is applied (and by the tests), so the two schemas never drift apart.
"""

from __future__ import annotations

import re

from regard.storage.dialect import schema_statement
from regard.storage.schema import MIGRATIONS
from regard.storage.sql import split_sql

#: Each SQLite trigger of the migrations, as PostgreSQL statements doing the same.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "embeddings_changed": (
        """CREATE FUNCTION regard_embeddings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE counters SET value = value + 1 WHERE name = 'vectors_changed';
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER embeddings_changed AFTER DELETE ON embeddings
        FOR EACH ROW EXECUTE FUNCTION regard_embeddings_changed()""",
    ),
    # The consent ledger is append-only: enforced by the database, whoever connects to it.
    "consents_no_delete": (
        """CREATE FUNCTION regard_consents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.subject = '[erased]'
               AND NEW.subject_key = OLD.subject_key AND NEW.id = OLD.id
               AND NEW.action = OLD.action AND NEW.purposes = OLD.purposes AND NEW.at = OLD.at
            THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'the consent ledger is append-only' USING ERRCODE = '23000';
        END $$""",
        """CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
        FOR EACH ROW EXECUTE FUNCTION regard_consents_append_only()""",
        # TRUNCATE skips row triggers: refused too.
        """CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents
        FOR EACH STATEMENT EXECUTE FUNCTION regard_consents_append_only()""",
    ),
    "consents_no_update": (
        """CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
        FOR EACH ROW EXECUTE FUNCTION regard_consents_append_only()""",
    ),
    "upload_names_follow_moves": (
        """CREATE FUNCTION regard_upload_names_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM upload_names WHERE path = OLD.path;
            ELSIF NEW.path IS DISTINCT FROM OLD.path THEN
                UPDATE upload_names SET path = NEW.path WHERE path = OLD.path;
            END IF;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER upload_names_follow_moves AFTER UPDATE OF path ON photos
        FOR EACH ROW EXECUTE FUNCTION regard_upload_names_follow()""",
    ),
    "upload_names_go_with_photos": (
        """CREATE TRIGGER upload_names_go_with_photos AFTER DELETE ON photos
        FOR EACH ROW EXECUTE FUNCTION regard_upload_names_follow()""",
    ),
    # A hidden recap naming a person goes when the person does (erased: nothing of them kept).
    "recaps_hidden_go_with_people": (
        """CREATE FUNCTION regard_recaps_hidden_go() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM recaps_hidden WHERE id LIKE 'PERSON-P' || OLD.id || '-%'
                OR id LIKE 'TOGETHER-P' || OLD.id || '-%' OR id LIKE 'TOGETHER-P%-P' || OLD.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER recaps_hidden_go_with_people AFTER DELETE ON people
        FOR EACH ROW EXECUTE FUNCTION regard_recaps_hidden_go()""",
    ),
}

_TRIGGER = re.compile(r"^\s*CREATE\s+TRIGGER\s+(\w+)", re.I)


def migration(number: int) -> list[str]:
    """The statements of migration `number` (0-based) for PostgreSQL."""
    statements: list[str] = []
    for sql in split_sql(MIGRATIONS[number]):
        sql = "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()
        if not sql:
            continue
        trigger = _TRIGGER.match(sql)
        if trigger:
            name = trigger.group(1)
            if name not in TRIGGERS:
                raise LookupError(
                    f"Migration {number + 1} makes the trigger {name}, which has no PostgreSQL "
                    "version in regard.storage.pg_schema.TRIGGERS."
                )
            statements += TRIGGERS[name]
        else:
            statements.append(schema_statement(sql))
    return statements
