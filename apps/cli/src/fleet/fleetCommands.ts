/** Read verbs for the fleet: `tandem node list|show`, `tandem cluster list`, `tandem site list`, `tandem alerts`. */
import { Command, Option } from 'commander';
import { apiVerb, VerbOptions } from '../api/verb';
import { ALERT_FIELDS, CLUSTER_FIELDS, NODE_FIELDS, SITE_FIELDS } from '../api/fields';
import { Column, found, nodesOf, render } from '../output/render';
import { formatSize } from '../units/size';

type Row = Record<string, any>;


const NODE_COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (n) => n.id },
  { header: 'NAME', value: (n) => n.name },
  { header: 'HEALTH', value: (n) => n.health },
  { header: 'STATE', value: (n) => n.state },
  { header: 'REACHABLE', value: (n) => (n.reachable ? 'yes' : 'no') },
  { header: 'CAPACITY', value: (n) => formatSize(n.capacityBytes) },
  { header: 'ALLOCATED', value: (n) => formatSize(n.allocatedBytes) },
  { header: 'VERSION', value: (n) => n.softwareVersion },
];


export function nodeCommand(): Command {
  const node = new Command('node').description('Storage nodes');
  node.addCommand(
    apiVerb('list', 'List the storage nodes', async (client, opts) => {
      const data = await client.request<{ storageNodes: { edges: { node: Row }[] } }>(`{ storageNodes(first: 500) { edges { node { ${NODE_FIELDS} } } } }`);
      render(opts.output, nodesOf(data.storageNodes), NODE_COLUMNS);
    }),
  );
  node.addCommand(
    apiVerb('show', 'Show one storage node', async (client, opts, id) => {
      const data = await client.request<{ storageNode: Row | null }>(`query($id: ID!) { storageNode(id: $id) { ${NODE_FIELDS} } }`, { id });
      render(opts.output, found(data.storageNode, 'storage node', id), NODE_COLUMNS);
    }).argument('<id>', 'node id'),
  );
  return node;
}

export function clusterCommand(): Command {
  return new Command('cluster').description('Clusters').addCommand(
    apiVerb('list', 'List the clusters', async (client, opts) => {
      const data = await client.request<{ clusters: { edges: { node: Row }[] } }>(`{ clusters(first: 500) { edges { node { ${CLUSTER_FIELDS} } } } }`);
      render(opts.output, nodesOf(data.clusters), [
        { header: 'ID', value: (c) => c.id },
        { header: 'NAME', value: (c) => c.name },
        { header: 'SITE', value: (c) => c.siteId },
        { header: 'STRATEGY', value: (c) => c.haStrategy },
        { header: 'NODES', value: (c) => c.nodes.map((n: Row) => n.name) },
        { header: 'DEVICES', value: (c) => c.devices.length },
      ]);
    }),
  );
}

export function siteCommand(): Command {
  return new Command('site').description('Sites').addCommand(
    apiVerb('list', 'List the sites', async (client, opts) => {
      const data = await client.request<{ sites: { edges: { node: Row }[] } }>(`{ sites(first: 500) { edges { node { ${SITE_FIELDS} } } } }`);
      render(opts.output, nodesOf(data.sites), [
        { header: 'ID', value: (s) => s.id },
        { header: 'NAME', value: (s) => s.name },
        { header: 'CLUSTERS', value: (s) => s.clusters.map((c: Row) => c.name) },
        { header: 'DESCRIPTION', value: (s) => s.description },
      ]);
    }),
  );
}

export function alertsCommand(): Command {
  const cmd = apiVerb('alerts', 'Active alerts, newest first (--all adds cleared ones)', async (client, opts) => {
    const o = opts as VerbOptions & { all?: boolean; severity?: string[] };
    const data = await client.request<{ alerts: { edges: { node: Row }[] } }>(
      `query($active: Boolean, $severity: [AlertSeverity!]) { alerts(first: 1000, active: $active, severity: $severity) { edges { node { ${ALERT_FIELDS} } } } }`,
      { active: o.all ? null : true, severity: o.severity ?? null },
    );
    render(opts.output, nodesOf(data.alerts), [
      { header: 'SEVERITY', value: (a) => a.severity },
      { header: 'KIND', value: (a) => a.kind },
      { header: 'SUBJECT', value: (a) => a.subject.name },
      { header: 'ACTIVE', value: (a) => (a.active ? 'yes' : 'no') },
      { header: 'RAISED', value: (a) => a.raisedAt },
      { header: 'MESSAGE', value: (a) => a.message },
    ]);
  });
  cmd.option('--all', 'cleared alerts too');
  cmd.addOption(new Option('--severity <s...>', 'only these severities').choices(['INFO', 'WARNING', 'CRITICAL']));
  return cmd;
}
