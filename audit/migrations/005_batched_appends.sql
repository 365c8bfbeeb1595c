-- SPDX-License-Identifier: Apache-2.0
-- mmdx schema 5: the same guarantees at a fraction of the cost per row, for
-- batches stored by several writers at once (docs/audit.md, "Throughput").
--
-- 1. The check of every appended event, about three times cheaper. The
--    trigger of schema 1 rebuilt each event's canonical bytes through
--    mmdx.audit_event_bytes() and mmdx.text_field(), function calls
--    PostgreSQL does not inline; here the same bytes are one expression over
--    the transition table. What is checked is unchanged: each new event
--    extends the chain exactly (seq, prev_hash), names the session's role,
--    carries the hash of its own fields (mmdx-audit-event-v1, as
--    audit/event.c and mmdx.audit_event_bytes() build it), and a role that
--    is not a writer may only record reviews. mmdx.audit_event_bytes() stays
--    as the reference (tests hash with both).
-- 2. A prediction's run must exist: checked once per statement over all its
--    rows instead of by the foreign key's per-row trigger (a lookup and a
--    row lock on the run for every prediction: most of an INSERT's cost).
--    Runs cannot be updated, deleted or truncated (their append-only
--    triggers), so the key share lock of the foreign key protected nothing
--    more; the error is still SQLSTATE 23503.
CREATE OR REPLACE FUNCTION mmdx.audit_events_check() RETURNS trigger
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
    -- Each text field: its length as int4 and its UTF-8 bytes, '\xffffffff' for NULL
    -- (mmdx.text_field); octet_length() of the converted bytes, so any server encoding agrees.
    SELECT c.seq, c.problem INTO bad FROM (
        SELECT n.seq,
               CASE
                   WHEN n.seq <> coalesce(lag(n.seq) OVER w, tail_seq) + 1 THEN 'is out of sequence'
                   WHEN n.prev_hash <> coalesce(lag(n.hash) OVER w, tail_hash) THEN 'does not link to the event before it'
                   WHEN n.db_role <> session_user THEN 'names a role other than the session''s'
                   WHEN n.hash IS DISTINCT FROM sha256(n.prev_hash
                       || '\x6d6d64782d61756469742d6576656e742d763100'::bytea -- 'mmdx-audit-event-v1' and its NUL
                       || int8send(n.seq)
                       || int8send((extract(epoch FROM n.ts) * 1000000)::bigint)
                       || int4send(octet_length(convert_to(n.db_role, 'UTF8'))) || convert_to(n.db_role, 'UTF8')
                       || int4send(octet_length(convert_to(n.os_user, 'UTF8'))) || convert_to(n.os_user, 'UTF8')
                       || int4send(octet_length(convert_to(n.host, 'UTF8'))) || convert_to(n.host, 'UTF8')
                       || int4send(octet_length(convert_to(n.action, 'UTF8'))) || convert_to(n.action, 'UTF8')
                       || int2send(n.outcome)
                       || CASE WHEN n.object_type IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(convert_to(n.object_type, 'UTF8')))
                                    || convert_to(n.object_type, 'UTF8') END
                       || CASE WHEN n.object_id IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(convert_to(n.object_id, 'UTF8')))
                                    || convert_to(n.object_id, 'UTF8') END
                       || CASE WHEN n.patient IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(convert_to(n.patient, 'UTF8')))
                                    || convert_to(n.patient, 'UTF8') END
                       || CASE WHEN n.study_uid IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(convert_to(n.study_uid, 'UTF8')))
                                    || convert_to(n.study_uid, 'UTF8') END
                       || CASE WHEN n.run_id IS NULL THEN '\xffffffff'::bytea
                               ELSE '\x00000024'::bytea || convert_to(n.run_id::text, 'UTF8') END -- 36 characters
                       || CASE WHEN n.object_sha256 IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(n.object_sha256)) || n.object_sha256 END
                       || CASE WHEN n.detail IS NULL THEN '\xffffffff'::bytea
                               ELSE int4send(octet_length(convert_to(n.detail, 'UTF8')))
                                    || convert_to(n.detail, 'UTF8') END)
                       THEN 'has a hash that does not match its fields'
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

ALTER TABLE mmdx.predictions DROP CONSTRAINT predictions_run_id_fkey;

CREATE FUNCTION mmdx.predictions_run_check() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing uuid;
BEGIN
    SELECT n.run_id INTO missing FROM (SELECT DISTINCT run_id FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM mmdx.runs r WHERE r.run_id = n.run_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'prediction of run %: no such run in mmdx.runs', missing USING ERRCODE = '23503';
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION mmdx.predictions_run_check() FROM PUBLIC;

CREATE TRIGGER predictions_run_exists AFTER INSERT ON mmdx.predictions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mmdx.predictions_run_check();
