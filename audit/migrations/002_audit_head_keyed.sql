-- SPDX-License-Identifier: Apache-2.0
-- mmdx schema 2: audit_head() also tells whether the last event carries an
-- HMAC. A program without the site key then refuses to append to a keyed
-- log, instead of adding events that `mmdx audit verify --require-hmac`
-- would later report as "HMAC removed". (The writer role cannot read the
-- log, so the function, which runs as the schema owner, says it.)
DROP FUNCTION mmdx.audit_head();

CREATE FUNCTION mmdx.audit_head(OUT last_seq bigint, OUT last_hash bytea, OUT now_us bigint,
                                OUT db_role text, OUT last_keyed boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7236481529001);
    SELECT e.seq, e.hash, e.hmac IS NOT NULL INTO last_seq, last_hash, last_keyed
        FROM mmdx.audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        last_seq := 0;
        last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        last_keyed := false;
    END IF;
    now_us := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    db_role := session_user;
END
$$;

REVOKE ALL ON FUNCTION mmdx.audit_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mmdx.audit_head() TO mmdx_writer, mmdx_reviewer;
