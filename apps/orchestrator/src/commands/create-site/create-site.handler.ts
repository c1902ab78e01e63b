import { randomUUID } from 'crypto';
import { conflict } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** A new site; its name is unique across sites (case-insensitive; the guard's unique index settles races). */
export const createSiteHandler = defineHandler('CreateSite', async (cmd, { guards }) => {
  const siteId = cmd.siteId ?? randomUUID();
  if (await guards.site(siteId)) throw conflict(`site ${siteId} already exists`);
  return {
    kind: 'append',
    aggregateId: siteId,
    streamId: streamIdOf('site', siteId),
    expectedVersion: 'no-stream',
    events: [{ type: 'SiteCreated', data: { siteId, name: cmd.name, ...(cmd.description !== undefined ? { description: cmd.description } : {}) } }],
    enforce: async (tx) => {
      await tx.query(`INSERT INTO ${tx.table('guard_sites')} (site_id, name, version) VALUES ($1, $2, $3)`, [siteId, cmd.name, tx.streamVersion]);
    },
  };
});
