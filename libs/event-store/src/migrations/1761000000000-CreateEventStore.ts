/**
 * The event store's tables and its append function. See README.md for why positions are reserved under a
 * short advisory lock together with the transaction id, and why readers stop at the snapshot's xmin.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '../sql';

/** First key of the two-int advisory lock that serialises position reservation ("td"); the second is per schema. */
export const POSITION_LOCK_CLASS = 0x7464;

export function createEventStoreMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  const schemaLiteral = `'${schema}'`;
  return class CreateEventStore1761000000000 implements MigrationInterface {
    readonly name = 'CreateEventStore1761000000000';

    async up(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`CREATE SEQUENCE ${s}.global_position_seq AS bigint MINVALUE 1`);
      await queryRunner.query(`
        CREATE TABLE ${s}.streams (
          stream_id   text PRIMARY KEY,
          version     bigint NOT NULL CHECK (version > 0),
          created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
          updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )`);
      await queryRunner.query(`
        CREATE TABLE ${s}.events (
          global_position bigint PRIMARY KEY,
          event_id        uuid NOT NULL,
          stream_id       text NOT NULL,
          stream_version  bigint NOT NULL CHECK (stream_version > 0),
          event_type      text NOT NULL,
          schema_version  integer NOT NULL CHECK (schema_version > 0),
          data            jsonb NOT NULL,
          metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
          transaction_id  xid8 NOT NULL,
          recorded_at     timestamptz NOT NULL,
          CONSTRAINT events_event_id_key UNIQUE (event_id),
          CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        )`);
      await queryRunner.query(`
        CREATE TABLE ${s}.subscription_checkpoints (
          subscription_name text PRIMARY KEY,
          position          bigint NOT NULL CHECK (position >= 0),
          updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
        )`);
      // One round trip per append: idempotency probe, position reservation, version check, batch insert.
      await queryRunner.query(`
        CREATE FUNCTION ${s}.append_to_stream(p_stream_id text, p_expected_kind text, p_expected_version bigint, p_events jsonb)
        RETURNS TABLE (event_id uuid, stream_version bigint, global_position bigint, recorded_at timestamptz)
        LANGUAGE plpgsql AS $fn$
        #variable_conflict use_column
        DECLARE
          v_count     integer := jsonb_array_length(p_events);
          v_ids       uuid[] := ARRAY(SELECT (x->>'id')::uuid FROM jsonb_array_elements(p_events) x);
          v_xid       xid8;
          v_positions bigint[];
          v_previous  bigint;
          v_actual    bigint;
          v_now       timestamptz := clock_timestamp();
        BEGIN
          -- = ANY(array) keeps this an index probe whatever the table size.
          IF EXISTS (SELECT 1 FROM ${s}.events e WHERE e.event_id = ANY(v_ids)) THEN
            RAISE EXCEPTION 'event ids already stored' USING ERRCODE = 'TS003';
          END IF;

          -- The transaction id must be assigned under the same lock that hands out positions: then xid order is
          -- position order, and a reader that stops below the oldest running xid can never skip a late commit.
          IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'append_to_stream must be the first write of its transaction' USING ERRCODE = 'TS002';
          END IF;
          PERFORM pg_advisory_lock(${POSITION_LOCK_CLASS}, hashtext(${schemaLiteral}));
          v_xid := pg_current_xact_id();
          SELECT array_agg(p ORDER BY p) INTO v_positions
            FROM (SELECT nextval('${schema}.global_position_seq') AS p FROM generate_series(1, v_count)) reserved;
          PERFORM pg_advisory_unlock(${POSITION_LOCK_CLASS}, hashtext(${schemaLiteral}));

          -- The stream row serialises writers of one stream; in READ COMMITTED the UPDATE re-checks its WHERE
          -- after waiting, so an exact expected version fails if another writer got there first.
          IF p_expected_kind = 'no-stream' OR (p_expected_kind = 'exact' AND p_expected_version = 0) THEN
            INSERT INTO ${s}.streams AS st (stream_id, version) VALUES (p_stream_id, v_count)
              ON CONFLICT (stream_id) DO NOTHING RETURNING 0 INTO v_previous;
          ELSIF p_expected_kind = 'any' THEN
            INSERT INTO ${s}.streams AS st (stream_id, version) VALUES (p_stream_id, v_count)
              ON CONFLICT (stream_id) DO UPDATE SET version = st.version + v_count, updated_at = v_now
              RETURNING st.version - v_count INTO v_previous;
          ELSIF p_expected_kind = 'stream-exists' THEN
            UPDATE ${s}.streams AS st SET version = st.version + v_count, updated_at = v_now
              WHERE st.stream_id = p_stream_id RETURNING st.version - v_count INTO v_previous;
          ELSE
            UPDATE ${s}.streams AS st SET version = st.version + v_count, updated_at = v_now
              WHERE st.stream_id = p_stream_id AND st.version = p_expected_version RETURNING st.version - v_count INTO v_previous;
          END IF;
          IF v_previous IS NULL THEN
            SELECT st.version INTO v_actual FROM ${s}.streams st WHERE st.stream_id = p_stream_id;
            RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'TS001', DETAIL = coalesce(v_actual, 0)::text;
          END IF;

          RETURN QUERY
          WITH inserted AS (
            INSERT INTO ${s}.events (global_position, event_id, stream_id, stream_version, event_type, schema_version, data, metadata, transaction_id, recorded_at)
            SELECT v_positions[x.ord], (x.value->>'id')::uuid, p_stream_id, v_previous + x.ord, x.value->>'type',
                   (x.value->>'schemaVersion')::integer, x.value->'data', coalesce(x.value->'metadata', '{}'::jsonb), v_xid, v_now
              FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(value, ord)
            RETURNING event_id, stream_version, global_position, recorded_at
          )
          SELECT i.event_id, i.stream_version, i.global_position, i.recorded_at FROM inserted i ORDER BY i.stream_version;
        END
        $fn$`);
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`DROP FUNCTION ${s}.append_to_stream(text, text, bigint, jsonb)`);
      await queryRunner.query(`DROP TABLE ${s}.subscription_checkpoints`);
      await queryRunner.query(`DROP TABLE ${s}.events`);
      await queryRunner.query(`DROP TABLE ${s}.streams`);
      await queryRunner.query(`DROP SEQUENCE ${s}.global_position_seq`);
    }
  };
}
