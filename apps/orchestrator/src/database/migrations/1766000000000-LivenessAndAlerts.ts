/** Node liveness (reachable, last seen, latest telemetry), the agent's health reason, and the alerts read model. */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '../sql';

export function createLivenessAndAlertsMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class LivenessAndAlerts1766000000000 implements MigrationInterface {
    readonly name = 'LivenessAndAlerts1766000000000';

    async up(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${s}.nodes ADD COLUMN health_reason text, ADD COLUMN reachable boolean NOT NULL DEFAULT true, ADD COLUMN reachability_changed_at timestamptz`);
      await q.query(`
        CREATE TABLE ${s}.alerts (
          alert_id         uuid PRIMARY KEY,
          kind             text NOT NULL,
          severity         text NOT NULL,
          subject_kind     text NOT NULL,
          subject_id       text NOT NULL,
          subject_name     text NOT NULL,
          message          text NOT NULL,
          evidence         jsonb NOT NULL,
          raised_at        timestamptz NOT NULL,
          raised_position  bigint NOT NULL,
          active           boolean NOT NULL,
          cleared_at       timestamptz,
          cleared_message  text,
          cleared_position bigint
        )`);
      await q.query(`CREATE INDEX alerts_active_idx ON ${s}.alerts (active, raised_position)`);
      await q.query(`CREATE INDEX alerts_subject_idx ON ${s}.alerts (subject_id)`);
      await q.query(`
        CREATE TABLE ${s}.node_liveness (
          node_id      uuid PRIMARY KEY,
          last_seen_at timestamptz NOT NULL,
          telemetry    jsonb NOT NULL
        )`);
    }

    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE ${s}.node_liveness`);
      await q.query(`DROP TABLE ${s}.alerts`);
      await q.query(`ALTER TABLE ${s}.nodes DROP COLUMN health_reason, DROP COLUMN reachable, DROP COLUMN reachability_changed_at`);
    }
  };
}
