-- SPDX-License-Identifier: Apache-2.0
-- mmdx schema 1: runs, predictions, the hash-chained audit log, roles.
-- Applied by `mmdx db migrate` inside one transaction, under an advisory
-- lock, by a role that may create roles (CREATEROLE) and own the schema.
-- The schema `mmdx` and mmdx.schema_migrations exist already (created by
-- the migrator itself).

-- Group roles (NOLOGIN). The DBA grants them to login roles:
--   GRANT mmdx_writer TO screening_host;  GRANT mmdx_reviewer TO dr_smith;
-- Roles are cluster-wide; another database may have created them already.
DO $$
BEGIN
    BEGIN
        CREATE ROLE mmdx_writer NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE mmdx_reviewer NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
END
$$;

-- One identity per log, named in signed checkpoints so a checkpoint of one
-- database can never be taken for another's.
CREATE TABLE mmdx.log_identity (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    log_id uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO mmdx.log_identity DEFAULT VALUES;

CREATE TABLE mmdx.runs (
    run_id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL,
    db_role text NOT NULL,
    os_user text NOT NULL,
    host text NOT NULL,
    mmdx_version text NOT NULL,
    model_sha256 text,
    cohort_sha256 text,
    plugins text NOT NULL,      -- JSON array of {name, version, sha256}, verbatim
    parameters text NOT NULL    -- JSON object, verbatim
);

CREATE TABLE mmdx.predictions (
    run_id uuid NOT NULL REFERENCES mmdx.runs (run_id),
    patient text NOT NULL,               -- the patient ID, or "psn:" + keyed pseudonym
    pseudonymised boolean NOT NULL,
    study_uid text,
    probability double precision NOT NULL CHECK (probability >= 0 AND probability <= 1),
    decision smallint CHECK (decision IN (0, 1)),
    contributions text NOT NULL,         -- JSON object modality -> contribution, verbatim
    input_hashes text NOT NULL,          -- JSON object input -> SHA-256, verbatim
    content_sha256 bytea NOT NULL,       -- SHA-256 of the canonical bytes of the fields above
    stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, patient)
);

CREATE TABLE mmdx.audit_events (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    ts timestamptz NOT NULL,
    db_role text NOT NULL,
    os_user text NOT NULL,
    host text NOT NULL,
    action text NOT NULL,
    outcome smallint NOT NULL CHECK (outcome IN (0, 4, 8, 12)),
    object_type text,
    object_id text,
    patient text,
    study_uid text,
    run_id uuid,
    object_sha256 bytea,
    detail text,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    hmac bytea
);
CREATE INDEX audit_events_ts ON mmdx.audit_events (ts);
CREATE INDEX audit_events_patient ON mmdx.audit_events (patient);
CREATE INDEX audit_events_run ON mmdx.audit_events (run_id);

CREATE TABLE mmdx.audit_checkpoints (
    tree_size bigint NOT NULL,
    root_hash bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id text NOT NULL,
    note text NOT NULL,          -- the signed checkpoint text, verbatim
    PRIMARY KEY (tree_size, key_id)
);

-- The canonical bytes of an audit event: a fixed prefix, big-endian integers,
-- every text field as a 4-byte length and its UTF-8 bytes (length -1 for
-- NULL). audit/event.c builds the same bytes; the insert trigger checks that
-- both agree, so a client can never append a hash the server would not.
CREATE FUNCTION mmdx.text_field(t text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN t IS NULL THEN '\xffffffff'::bytea
                ELSE int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END;

CREATE FUNCTION mmdx.bytes_field(b bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN b IS NULL THEN '\xffffffff'::bytea
                ELSE int4send(octet_length(b)) || b END;

-- PL/pgSQL, not SQL: a SQL function taking a row is not inlined, and its
-- nested calls then cost ten times more per event.
CREATE FUNCTION mmdx.audit_event_bytes(e mmdx.audit_events) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN convert_to('mmdx-audit-event-v1', 'UTF8') || '\x00'::bytea
        || int8send(e.seq)
        || int8send((extract(epoch FROM e.ts) * 1000000)::bigint)
        || mmdx.text_field(e.db_role) || mmdx.text_field(e.os_user) || mmdx.text_field(e.host)
        || mmdx.text_field(e.action) || int2send(e.outcome)
        || mmdx.text_field(e.object_type) || mmdx.text_field(e.object_id)
        || mmdx.text_field(e.patient) || mmdx.text_field(e.study_uid)
        || mmdx.text_field(e.run_id::text) || mmdx.bytes_field(e.object_sha256)
        || mmdx.text_field(e.detail);
END
$$;

-- Serialises appenders: the caller's transaction holds the lock until it
-- commits, so concurrent writers form one chain. Returns the chain's tail,
-- the server's clock and the role the event will name.
CREATE FUNCTION mmdx.audit_head(OUT last_seq bigint, OUT last_hash bytea, OUT now_us bigint,
                                OUT db_role text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7236481529001);
    SELECT e.seq, e.hash INTO last_seq, last_hash
        FROM mmdx.audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        last_seq := 0;
        last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    now_us := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    db_role := session_user;
END
$$;

-- Checks every statement's new events at once (set-based: a row-level
-- trigger costs ~10x more per event): they must extend the chain exactly,
-- name the session's role, carry the hash of their own fields, and a role
-- that is not a writer may only record reviews.
CREATE FUNCTION mmdx.audit_events_check() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    first_seq bigint;
    last_seq bigint;
    tail_seq bigint;
    tail_hash bytea;
    bad record;
BEGIN
    SELECT min(n.seq), max(n.seq) INTO first_seq, last_seq FROM new_rows n;
    IF first_seq IS NULL THEN
        RETURN NULL;
    END IF;
    -- max() always takes the index; EXISTS (seq > x) may scan the table on stale statistics.
    IF (SELECT max(e.seq) FROM mmdx.audit_events e) > last_seq THEN
        RAISE EXCEPTION 'audit events % to % are not at the end of the log', first_seq, last_seq
            USING ERRCODE = '23514';
    END IF;
    SELECT e.seq, e.hash INTO tail_seq, tail_hash
        FROM mmdx.audit_events e WHERE e.seq < first_seq ORDER BY e.seq DESC LIMIT 1;
    IF tail_seq IS NULL THEN
        tail_seq := 0;
        tail_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    SELECT c.seq, c.problem INTO bad FROM (
        SELECT n.seq,
               CASE
                   WHEN n.seq <> coalesce(lag(n.seq) OVER w, tail_seq) + 1 THEN 'is out of sequence'
                   WHEN n.prev_hash <> coalesce(lag(n.hash) OVER w, tail_hash) THEN 'does not link to the event before it'
                   WHEN n.db_role <> session_user THEN 'names a role other than the session''s'
                   WHEN n.hash <> sha256(n.prev_hash || mmdx.audit_event_bytes(n.*)) THEN 'has a hash that does not match its fields'
               END AS problem
        FROM new_rows n WINDOW w AS (ORDER BY n.seq)) c
    WHERE c.problem IS NOT NULL ORDER BY c.seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit event % %', bad.seq, bad.problem USING ERRCODE = '23514';
    END IF;
    IF NOT pg_has_role(session_user, 'mmdx_writer', 'MEMBER')
       AND NOT pg_has_role(session_user, (SELECT c.relowner FROM pg_class c
                                          WHERE c.oid = 'mmdx.audit_events'::regclass), 'MEMBER') THEN
        SELECT n.action INTO bad FROM new_rows n
            WHERE NOT (n.action LIKE 'audit.%' OR n.action LIKE 'results.%') LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'role % may only record reviews, not %', session_user, bad.action
                USING ERRCODE = '42501';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_check AFTER INSERT ON mmdx.audit_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.audit_events_check();

CREATE FUNCTION mmdx.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is not allowed: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER runs_append_only BEFORE UPDATE OR DELETE ON mmdx.runs
    FOR EACH ROW EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER runs_no_truncate BEFORE TRUNCATE ON mmdx.runs
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER predictions_append_only BEFORE UPDATE OR DELETE ON mmdx.predictions
    FOR EACH ROW EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER predictions_no_truncate BEFORE TRUNCATE ON mmdx.predictions
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON mmdx.audit_events
    FOR EACH ROW EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON mmdx.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON mmdx.audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON mmdx.audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER schema_migrations_append_only BEFORE UPDATE OR DELETE ON mmdx.schema_migrations
    FOR EACH ROW EXECUTE FUNCTION mmdx.refuse_change();
CREATE TRIGGER schema_migrations_no_truncate BEFORE TRUNCATE ON mmdx.schema_migrations
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.refuse_change();

-- Privileges: nothing for PUBLIC; the writer inserts, the reviewer reads and
-- records its reviews. The writer may see which (run, patient) pairs exist
-- and their content hashes, so that a replayed batch is recognised as such,
-- but never a probability.
REVOKE ALL ON SCHEMA mmdx FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA mmdx FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mmdx FROM PUBLIC;
GRANT USAGE ON SCHEMA mmdx TO mmdx_writer, mmdx_reviewer;
GRANT EXECUTE ON FUNCTION mmdx.audit_head() TO mmdx_writer, mmdx_reviewer;
GRANT EXECUTE ON FUNCTION mmdx.text_field(text), mmdx.bytes_field(bytea),
    mmdx.audit_event_bytes(mmdx.audit_events) TO mmdx_writer, mmdx_reviewer;
GRANT SELECT ON mmdx.schema_migrations, mmdx.log_identity TO mmdx_writer, mmdx_reviewer;
GRANT INSERT ON mmdx.runs, mmdx.predictions, mmdx.audit_events TO mmdx_writer;
GRANT SELECT (run_id) ON mmdx.runs TO mmdx_writer;
GRANT SELECT (run_id, patient, content_sha256) ON mmdx.predictions TO mmdx_writer;
GRANT SELECT ON mmdx.runs, mmdx.predictions, mmdx.audit_events, mmdx.audit_checkpoints TO mmdx_reviewer;
GRANT INSERT ON mmdx.audit_events, mmdx.audit_checkpoints TO mmdx_reviewer;
