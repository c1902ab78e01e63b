/** Facts node agents report: a node's health (replica states live in the devices' `replicas` jsonb). */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '../sql';

export function createAgentFactsMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class AgentFacts1763000000000 implements MigrationInterface {
    readonly name = 'AgentFacts1763000000000';

    async up(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${s}.nodes ADD COLUMN health text`);
      // Desired-devices lookups: which devices have a replica on this node.
      await q.query(`CREATE INDEX devices_replicas_idx ON ${s}.devices USING gin (replicas jsonb_path_ops)`);
    }

    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP INDEX ${s}.devices_replicas_idx`);
      await q.query(`ALTER TABLE ${s}.nodes DROP COLUMN health`);
    }
  };
}
