/** HA devices: the device's HA settings (strategy, witness, initial sync); replica HA state lives in `replicas`. */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { quoteIdent } from '../sql';

export function createHaDevicesMigration(schema: string): new () => MigrationInterface {
  const s = quoteIdent(schema);
  return class HaDevices1765000000000 implements MigrationInterface {
    readonly name = 'HaDevices1765000000000';

    async up(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${s}.devices ADD COLUMN ha jsonb`);
    }

    async down(q: QueryRunner): Promise<void> {
      await q.query(`ALTER TABLE ${s}.devices DROP COLUMN ha`);
    }
  };
}
