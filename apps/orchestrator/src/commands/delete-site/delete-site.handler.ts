import { notFound } from '../commandRefused';
import { defineHandler, streamIdOf } from '../commandHandler';

/** Only an empty site can go: the clusters' foreign key refuses it otherwise, even against a concurrent CreateCluster. */
export const deleteSiteHandler = defineHandler('DeleteSite', async (cmd, { guards }) => {
  const site = await guards.site(cmd.siteId);
  if (!site) throw notFound('site', cmd.siteId);
  return {
    kind: 'append',
    aggregateId: site.siteId,
    streamId: streamIdOf('site', site.siteId),
    expectedVersion: site.version,
    events: [{ type: 'SiteDeleted', data: { siteId: site.siteId } }],
    enforce: async (tx) => {
      await tx.query(`DELETE FROM ${tx.table('guard_sites')} WHERE site_id = $1`, [site.siteId]);
    },
  };
});
