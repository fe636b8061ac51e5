"""The catalog's schema, as an ordered list of migrations (PRAGMA user_version counts them).

A migration is never edited once released: changes go in a new one at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: photos, faces, embeddings, models, ingestion runs
    """
    CREATE TABLE models (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('detector', 'embedder')),
        package         TEXT NOT NULL,
        file            TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        licence         TEXT NOT NULL,
        dim             INTEGER NOT NULL DEFAULT 0,
        first_used_at   TEXT NOT NULL
    );

    CREATE TABLE runs (
        id              INTEGER PRIMARY KEY,
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        status          TEXT NOT NULL
                        CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
        roots           TEXT NOT NULL,             -- JSON list of folders
        pipeline        TEXT NOT NULL,
        files_seen      INTEGER NOT NULL DEFAULT 0,
        files_new       INTEGER NOT NULL DEFAULT 0,
        files_changed   INTEGER NOT NULL DEFAULT 0,
        files_moved     INTEGER NOT NULL DEFAULT 0,
        files_copied    INTEGER NOT NULL DEFAULT 0,
        files_unchanged INTEGER NOT NULL DEFAULT 0,
        files_failed    INTEGER NOT NULL DEFAULT 0,
        faces_found     INTEGER NOT NULL DEFAULT 0,
        files_missing   INTEGER NOT NULL DEFAULT 0,
        files_pruned    INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE photos (
        id              INTEGER PRIMARY KEY,
        path            TEXT NOT NULL UNIQUE,
        content_hash    TEXT,                      -- sha256 of the file's bytes
        size_bytes      INTEGER NOT NULL,
        mtime_ns        INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('indexed', 'error')),
        error_code      TEXT,
        error_message   TEXT,
        format          TEXT,
        width           INTEGER,                   -- upright (EXIF-oriented) pixels
        height          INTEGER,
        orientation     INTEGER,
        taken_at        TEXT,
        gps_lat         REAL,
        gps_lon         REAL,
        gps_alt         REAL,
        camera_make     TEXT,
        camera_model    TEXT,
        pipeline        TEXT,                      -- models that analysed it
        run_id          INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        indexed_at      TEXT NOT NULL
    );
    CREATE INDEX photos_by_hash ON photos(content_hash);
    CREATE INDEX photos_by_size ON photos(size_bytes);
    CREATE INDEX photos_by_status ON photos(status);

    CREATE TABLE faces (
        id              INTEGER PRIMARY KEY,
        photo_id        INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        ordinal         INTEGER NOT NULL,          -- left to right within the photo
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
        landmarks       TEXT NOT NULL,             -- JSON: 10 numbers, full-resolution pixels
        det_score       REAL NOT NULL,
        size_px         REAL NOT NULL,
        sharpness       REAL NOT NULL,
        frontalness     REAL NOT NULL,
        quality         REAL NOT NULL,
        low_quality     INTEGER NOT NULL,
        UNIQUE (photo_id, ordinal)
    );

    CREATE TABLE embeddings (
        face_id         INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        model_id        TEXT NOT NULL REFERENCES models(id),
        vector          BLOB NOT NULL,             -- float32, little-endian, L2-normalised
        PRIMARY KEY (face_id, model_id)
    ) WITHOUT ROWID;
    CREATE INDEX embeddings_by_model ON embeddings(model_id);
    """,
    # 2: people, the faces in them, and the owner's corrections
    """
    CREATE TABLE people (
        id              INTEGER PRIMARY KEY,
        name            TEXT,                      -- NULL until the owner names them
        name_key        TEXT UNIQUE,               -- casefolded name, for lookups
        confirmed       INTEGER NOT NULL DEFAULT 0, -- the owner named, merged, split or corrected
        merged_into     INTEGER REFERENCES people(id) ON DELETE SET NULL,
        cover_face_id   INTEGER REFERENCES faces(id) ON DELETE SET NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );

    ALTER TABLE faces ADD COLUMN person_id INTEGER REFERENCES people(id) ON DELETE SET NULL;
    ALTER TABLE faces ADD COLUMN assigned_by TEXT
        CHECK (assigned_by IS NULL OR assigned_by IN ('auto', 'owner'));
    -- 0 until the grouper has looked at the face (after a crash, it looks again)
    ALTER TABLE faces ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX faces_by_person ON faces(person_id);
    CREATE INDEX faces_to_group ON faces(grouped) WHERE grouped = 0;

    CREATE TABLE rejections (
        face_id         INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (face_id, person_id)
    ) WITHOUT ROWID;

    -- Bumped whenever a face or a vector goes away or changes, so a saved vector index can
    -- tell that it is out of date (additions it can catch up with by itself).
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('vectors_changed', 0);
    CREATE TRIGGER embeddings_changed AFTER DELETE ON embeddings BEGIN
        UPDATE counters SET value = value + 1 WHERE name = 'vectors_changed';
    END;

    CREATE TABLE people_history (
        id              INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        action          TEXT NOT NULL,             -- name, merge, split, reject, recluster
        detail          TEXT NOT NULL              -- JSON
    );
    """,
    # 3: privacy — settings (policy, keys), consent ledger, opt-outs, templates, audit log,
    #    erasures; what became of each face's biometric data
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO settings (key, value) VALUES ('library_id', lower(hex(randomblob(16))));
    INSERT INTO settings (key, value) VALUES ('policy', 'household');

    -- kept: the face has its embedding; otherwise why it has none (the box stays, for blurring)
    ALTER TABLE faces ADD COLUMN biometric TEXT NOT NULL DEFAULT 'kept'
        CHECK (biometric IN ('kept', 'opted_out', 'unconsented', 'withdrawn', 'erased',
                             'expired'));
    ALTER TABLE faces ADD COLUMN optout_id INTEGER;

    CREATE TABLE consents (
        id              INTEGER PRIMARY KEY,
        subject         TEXT NOT NULL,             -- the person's name as the evidence gives it
        subject_key     TEXT NOT NULL,
        action          TEXT NOT NULL CHECK (action IN ('grant', 'withdraw')),
        purposes        TEXT NOT NULL,             -- JSON list
        evidence        TEXT,                      -- sha256 of the evidence file, or its text
        evidence_kind   TEXT CHECK (evidence_kind IN ('file', 'text')),
        evidence_name   TEXT,
        consent_text    TEXT NOT NULL,             -- sha256 of the consent wording agreed to
        actor           TEXT NOT NULL,
        at              TEXT NOT NULL,
        expires         TEXT
    );
    CREATE INDEX consents_by_subject ON consents(subject_key, id);
    -- Append-only: a record is never changed or removed, except that an erasure may blank
    -- the subject's name.
    CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents BEGIN
        SELECT RAISE(ABORT, 'the consent ledger is append-only');
    END;
    CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
    WHEN NOT (NEW.subject = '[erased]' AND NEW.subject_key = OLD.subject_key
              AND NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.purposes = OLD.purposes
              AND NEW.at = OLD.at)
    BEGIN
        SELECT RAISE(ABORT, 'the consent ledger is append-only');
    END;

    CREATE TABLE optouts (
        id              INTEGER PRIMARY KEY,
        created_at      TEXT NOT NULL,
        actor           TEXT NOT NULL,
        note            TEXT,
        source_hash     TEXT NOT NULL              -- sha256 of the selfie file (not kept)
    );

    -- Face vectors kept for one purpose only: a consent enrolment, or exclusion (opt-out).
    CREATE TABLE templates (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('enrolment', 'optout')),
        person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
        optout_id       INTEGER REFERENCES optouts(id) ON DELETE CASCADE,
        model_id        TEXT NOT NULL,
        vector          BLOB NOT NULL,             -- sealed
        created_at      TEXT NOT NULL
    );

    CREATE TABLE audit (
        id              INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        purpose         TEXT,
        subject         TEXT,                      -- P12 / F7 ids, never names
        probe_hash      TEXT,
        result_count    INTEGER,
        detail          TEXT NOT NULL,             -- JSON
        prev_hash       TEXT NOT NULL,
        hash            TEXT NOT NULL
    );

    CREATE TABLE erasures (
        id              TEXT PRIMARY KEY,          -- the journal entry's id
        applied_at      TEXT NOT NULL,
        receipt         TEXT NOT NULL              -- JSON
    );
    """,
    # 4: accounts for the web app — users with roles, sessions, failed logins
    """
    CREATE TABLE users (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL,
        name_key        TEXT NOT NULL UNIQUE,
        password_hash   TEXT NOT NULL,             -- argon2id
        role            TEXT NOT NULL CHECK (role IN ('owner', 'member', 'viewer')),
        created_at      TEXT NOT NULL,
        disabled        INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        token_hash      TEXT PRIMARY KEY,          -- sha256 of the cookie's token
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf            TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        last_seen       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE login_failures (
        name_key        TEXT NOT NULL,
        at              TEXT NOT NULL
    );
    CREATE INDEX login_failures_by_name ON login_failures(name_key, at);
    """,
    # 5: the names photos sent to the web app had on the sender's machine (they are kept under
    #    names made from their content); a name goes where its photo goes, and with it
    """
    CREATE TABLE upload_names (
        path            TEXT PRIMARY KEY,          -- where the upload is kept
        name            TEXT NOT NULL,             -- the sender's file name, made safe to show
        added_at        TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER upload_names_follow_moves AFTER UPDATE OF path ON photos BEGIN
        UPDATE upload_names SET path = NEW.path WHERE path = OLD.path;
    END;
    CREATE TRIGGER upload_names_go_with_photos AFTER DELETE ON photos BEGIN
        DELETE FROM upload_names WHERE path = OLD.path;
    END;
    """,
    # 6: templates kept only to exclude, after an erasure (tied to its journal entry) or a
    #    full withdrawal of consent; the audit log's per-entry MAC (content, keyed)
    """
    CREATE TABLE templates_v6 (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL
                        CHECK (kind IN ('enrolment', 'optout', 'erasure', 'withdrawal')),
        person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
        optout_id       INTEGER REFERENCES optouts(id) ON DELETE CASCADE,
        erasure_id      TEXT,                      -- the erasure journal entry it comes from
        model_id        TEXT NOT NULL,
        vector          BLOB NOT NULL,             -- sealed
        created_at      TEXT NOT NULL
    );
    INSERT INTO templates_v6 (id, kind, person_id, optout_id, model_id, vector, created_at)
        SELECT id, kind, person_id, optout_id, model_id, vector, created_at FROM templates;
    DROP TABLE templates;
    ALTER TABLE templates_v6 RENAME TO templates;
    CREATE INDEX templates_by_kind ON templates(kind, model_id);

    -- HMAC of the entry's content under the audit key (derived from the data key); `hash`
    -- chains these MACs. NULL in entries written before the chain was keyed.
    ALTER TABLE audit ADD COLUMN mac TEXT;
    """,
    # 7: a failed file's message for a web user, where the command line's names an option
    """
    ALTER TABLE photos ADD COLUMN error_web TEXT;
    """,
    # 8: the job queue, shared by every process that opens the library (the CLI's runs show in
    #    the web app); a job's report is kept once it finishes
    """
    CREATE TABLE jobs (
        seq             INTEGER PRIMARY KEY,       -- queue order
        id              TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        state           TEXT NOT NULL
                        CHECK (state IN ('queued', 'running', 'done', 'failed', 'interrupted')),
        args            TEXT NOT NULL,             -- JSON: what to do (the folders to index)
        total           INTEGER NOT NULL DEFAULT 0,
        done            INTEGER NOT NULL DEFAULT 0,
        faces           INTEGER NOT NULL DEFAULT 0,
        errors          INTEGER NOT NULL DEFAULT 0,
        message         TEXT NOT NULL DEFAULT '',
        started_at      REAL NOT NULL,             -- seconds since the epoch, when submitted
        finished_at     REAL,
        report          TEXT                       -- JSON, once finished
    );
    CREATE INDEX jobs_by_state ON jobs(state, seq);
    """,
    # 9: videos. A video is a row of `photos` with media 'video' (so everything that follows a
    #    file — moves, copies, pruning, erasure with the files — holds for it unchanged), and
    #    each appearance of a person in it is one face of it (its best frame's box, the mean
    #    of its embedded frames as its vector), so the vector index, grouping, opt-out,
    #    withdrawal, erasure and retention treat it as they treat a face of a photo. What only
    #    an appearance has — when it starts and ends, its best moment, the path of its box —
    #    is in `appearances`, which goes with its face.
    """
    ALTER TABLE photos ADD COLUMN media TEXT NOT NULL DEFAULT 'photo'
        CHECK (media IN ('photo', 'video'));
    ALTER TABLE photos ADD COLUMN duration REAL;    -- seconds, videos only
    CREATE TABLE appearances (
        face_id         INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
        photo_id        INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        start_time      REAL NOT NULL,             -- seconds on the video's timeline
        end_time        REAL NOT NULL,
        best_time       REAL NOT NULL,             -- the face's box (in faces) is there
        path            TEXT NOT NULL,             -- JSON: [[t, x, y, w, h], ...] upright px
        frames          TEXT NOT NULL              -- JSON: [[t, x, y, w, h], ...] embedded
    );
    CREATE INDEX appearances_by_photo ON appearances(photo_id, start_time);
    """,
    # 10 (i11-rest): jobs can be cancelled (anonymising a video, an export with videos: minutes
    #    of work a user may stop); SQLite changes a CHECK only by building the table again
    """
    CREATE TABLE jobs_new (
        seq             INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed',
                                                       'interrupted', 'cancelled')),
        args            TEXT NOT NULL,
        total           INTEGER NOT NULL DEFAULT 0,
        done            INTEGER NOT NULL DEFAULT 0,
        faces           INTEGER NOT NULL DEFAULT 0,
        errors          INTEGER NOT NULL DEFAULT 0,
        message         TEXT NOT NULL DEFAULT '',
        started_at      REAL NOT NULL,
        finished_at     REAL,
        report          TEXT
    );
    INSERT INTO jobs_new SELECT seq, id, kind, state, args, total, done, faces, errors, message,
        started_at, finished_at, report FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_new RENAME TO jobs;
    CREATE INDEX jobs_by_state ON jobs(state, seq);
    """,
    # 11 (people, issue 12): a detection the owner says is no face at all (kept out of grouping,
    #    counts and suggestions, undoable); a person kept but out of the way; the cover face the
    #    owner chose (kept while it is theirs)
    """
    ALTER TABLE faces ADD COLUMN not_a_person INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN chosen_cover_face_id INTEGER
        REFERENCES faces(id) ON DELETE SET NULL;

    -- A correction's number is never given to another: an Undo button shown before the
    -- history forgot a removed person's corrections must not undo a later one.
    CREATE TABLE people_history_v10 (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        at              TEXT NOT NULL,
        action          TEXT NOT NULL,
        detail          TEXT NOT NULL              -- JSON
    );
    INSERT INTO people_history_v10 (id, at, action, detail)
        SELECT id, at, action, detail FROM people_history;
    DROP TABLE people_history;
    ALTER TABLE people_history_v10 RENAME TO people_history;
    """,
    # 12 (timeline, issue 12): the timeline and the trash. The timeline pages by (date, id),
    #     newest first, undated last (their key is ''). A photo in the trash keeps every row
    #     it had (restoring it gives it back as it was) but is out of the timeline, search,
    #     people, counts and exports; emptying deletes those rows, and a file of the owner's
    #     folders (left on disk) is remembered by its content so indexing does not bring it
    #     back. A web upload keeps the date its file had on the sender's machine, for photos
    #     without a date.
    """
    CREATE INDEX photos_by_date ON photos(COALESCE(taken_at, ''), id);
    CREATE INDEX photos_by_month ON photos(status, substr(taken_at, 1, 7));
    CREATE TABLE trash (
        photo_id        INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        trashed_at      TEXT NOT NULL,
        trashed_by      TEXT NOT NULL
    );
    CREATE INDEX trash_by_time ON trash(trashed_at);
    CREATE TABLE forgotten_files (
        content_hash    TEXT PRIMARY KEY,
        size_bytes      INTEGER NOT NULL,
        forgotten_at    TEXT NOT NULL
    );
    ALTER TABLE upload_names ADD COLUMN sent_modified TEXT;   -- ISO 8601, as the browser said
    """,
    # 13 (cameras, issue 13): home cameras and what they saw. A camera's source may hold a
    #     password: it never leaves this table (shown redacted). An event is written when it
    #     starts (state 'open') and again, whole, when it ends; one still open when the
    #     watcher starts again was cut short (kill -9, power) and is closed where it was last
    #     seen. Unknown faces' crops are kept a day for the owner to name or discard, then
    #     deleted.
    """
    CREATE TABLE cameras (
        name            TEXT PRIMARY KEY,
        source          TEXT NOT NULL,
        alerts          TEXT NOT NULL,             -- comma-separated
        night_only      TEXT NOT NULL DEFAULT '',
        public_space    INTEGER NOT NULL DEFAULT 0,
        masks           TEXT NOT NULL DEFAULT '[]', -- JSON: [[[x, y], ...], ...] source px
        retention_days  INTEGER NOT NULL DEFAULT 7,
        enabled         INTEGER NOT NULL DEFAULT 1,
        transport       TEXT NOT NULL DEFAULT 'tcp' CHECK (transport IN ('tcp', 'udp')),
        detect_fps      REAL NOT NULL DEFAULT 5.0,
        added_at        REAL NOT NULL
    );
    CREATE TABLE camera_events (
        id              TEXT PRIMARY KEY,
        camera          TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('person', 'pet', 'car')),
        label           TEXT NOT NULL,
        who             TEXT,                      -- a name, 'unknown', or NULL (no face)
        start_time      REAL NOT NULL,             -- seconds into a file, or epoch seconds
        end_time        REAL,
        last_seen       REAL NOT NULL,
        live            INTEGER NOT NULL,
        score           REAL NOT NULL,
        snapshot        TEXT,                      -- relative to the library folder
        clip            TEXT,
        box             TEXT,                      -- JSON [x, y, w, h] in the snapshot
        alert           INTEGER NOT NULL DEFAULT 0,
        state           TEXT NOT NULL CHECK (state IN ('open', 'ended')),
        recorded_at     REAL NOT NULL              -- epoch seconds: what retention counts
    );
    CREATE INDEX camera_events_by_time ON camera_events(recorded_at);
    CREATE INDEX camera_events_by_camera ON camera_events(camera, recorded_at);
    CREATE TABLE unknown_faces (
        id              INTEGER PRIMARY KEY,
        event_id        TEXT NOT NULL REFERENCES camera_events(id) ON DELETE CASCADE,
        path            TEXT NOT NULL,             -- relative to the library folder
        expires_at      REAL NOT NULL
    );
    """,
    # 14 (recaps, issue 14): a person hidden from recaps; the recaps the owner hid (an id
    #     naming a person goes when the person does: erased, nothing of them is kept); the
    #     small look taken of a photo to choose recaps' photos (a difference hash, sharpness,
    #     exposure), of its content as it was, going with the photo
    """
    ALTER TABLE people ADD COLUMN recaps_hidden INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE recaps_hidden (
        id              TEXT PRIMARY KEY,          -- TRIP-2019-07-14, PERSON-P12-2025...
        hidden_at       TEXT NOT NULL,
        hidden_by       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER recaps_hidden_go_with_people AFTER DELETE ON people BEGIN
        DELETE FROM recaps_hidden WHERE id LIKE 'PERSON-P' || OLD.id || '-%'
            OR id LIKE 'TOGETHER-P' || OLD.id || '-%' OR id LIKE 'TOGETHER-P%-P' || OLD.id;
    END;
    CREATE TABLE photo_looks (
        photo_id        INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        content_hash    TEXT,                      -- the content looked at
        dhash           INTEGER NOT NULL,          -- 64 bits, stored signed
        sharpness       REAL NOT NULL,
        exposure        REAL NOT NULL
    );
    """,
    # 15 (cameras' clips, issue 13): a camera may keep a short clip of each event, with this many
    # seconds before it began (pre-roll), blurred as its snapshot is.
    """
    ALTER TABLE cameras ADD COLUMN clips INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cameras ADD COLUMN pre_roll REAL NOT NULL DEFAULT 3.0;
    """,
    # 16: a person's number is never given to anyone else. SQLite gives a new row the highest
    #     id + 1, so the newest person, once gone (their last face named someone else), had
    #     their number handed to the next new person, and the owner's words kept about the old
    #     one (a rejection, a hidden recap, a history entry) met the new one. The last number
    #     given is counted here; a new person takes the next.
    """
    INSERT INTO counters (name, value) SELECT 'people_ids', COALESCE(MAX(id), 0) FROM people;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
