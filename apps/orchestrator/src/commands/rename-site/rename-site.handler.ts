import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** Renaming to the current name changes nothing; another site's name is refused by the guard's unique index. */
export const renameSiteHandler = defineHandler('RenameSite', async (cmd, { guards }) => {
  const site = await guards.site(cmd.siteId);
  if (!site) throw notFound('site', cmd.siteId);
  if (site.name === cmd.name) return { kind: 'unchanged', aggregateId: site.siteId };
  return {
    kind: 'append',
    aggregateId: site.siteId,
    streamId: streamIdOf('site', site.siteId),
    expectedVersion: site.version,
    events: [{ type: 'SiteRenamed', data: { siteId: site.siteId, name: cmd.name, previousName: site.name } }],
    enforce: async (tx) => {
      await tx.query(`UPDATE ${tx.table('guard_sites')} SET name = $2, version = $3 WHERE site_id = $1`, [site.siteId, cmd.name, tx.streamVersion]);
    },
  };
});
