/** Fleet verbs: `tandem node list|show|maintenance on|off`, `tandem cluster list|show`, `tandem site list|show`, `tandem alerts`. */
import { Command, Option } from 'commander';
import { CliError, EXIT, USER_ERRORS } from '../api/graphqlClient';
import { apiVerb, VerbOptions } from '../api/verb';
import { ALERT_FIELDS, CLUSTER_FIELDS, NODE_FIELDS, SITE_FIELDS } from '../api/fields';
import { firstOf, listConnection, withFirstOption } from '../api/connection';
import { resolveNodes } from '../api/resolve';
import { Column, found, render } from '../output/render';
import { formatSize } from '../units/size';

type Row = Record<string, any>;

const NODE_COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (n) => n.id },
  { header: 'NAME', value: (n) => n.name },
  { header: 'HEALTH', value: (n) => n.health },
  { header: 'STATE', value: (n) => n.state },
  { header: 'REACHABLE', value: (n) => (n.reachable ? 'yes' : 'no') },
  { header: 'MAINTENANCE', value: (n) => (n.inMaintenance ? `yes${n.maintenanceReason ? ` (${n.maintenanceReason})` : ''}` : 'no') },
  { header: 'CAPACITY', value: (n) => formatSize(n.capacityBytes) },
  { header: 'ALLOCATED', value: (n) => formatSize(n.allocatedBytes) },
  { header: 'VERSION', value: (n) => n.softwareVersion },
];

const CLUSTER_COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'NAME', value: (c) => c.name },
  { header: 'SITE', value: (c) => c.siteId },
  { header: 'STRATEGY', value: (c) => c.haStrategy },
  { header: 'NODES', value: (c) => c.nodes.map((n: Row) => n.name) },
  { header: 'DEVICES', value: (c) => c.devices.length },
];

const SITE_COLUMNS: Column<Row>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'NAME', value: (s) => s.name },
  { header: 'CLUSTERS', value: (s) => s.clusters.map((c: Row) => c.name) },
  { header: 'DESCRIPTION', value: (s) => s.description },
];

/** `node maintenance on|off NODE`: the node as the payload holds it (the gateway answers once its read models include the change). */
function maintenanceVerb(name: 'on' | 'off'): Command {
  const mutation = name === 'on' ? 'enterMaintenance' : 'exitMaintenance';
  const verb = apiVerb(name, name === 'on' ? 'Put a node in maintenance: no new replicas go there' : 'Take a node out of maintenance', async (client, opts, ref) => {
    const [nodeId] = await resolveNodes(client, [ref]);
    const input = name === 'on' && opts.reason !== undefined ? { nodeId, reason: opts.reason } : { nodeId };
    const payload = await client.mutate<{ errors: []; globalPosition: number | null; node: Row | null }>(
      `mutation($input: ${name === 'on' ? 'EnterMaintenanceInput' : 'ExitMaintenanceInput'}!) { ${mutation}(input: $input) { globalPosition node { ${NODE_FIELDS} } ${USER_ERRORS} } }`,
      mutation,
      { input },
    );
    if (!payload.node) throw new CliError(`${mutation} was accepted (position ${payload.globalPosition}) but the API's read models had not caught up; check with tandem node show ${nodeId}`, EXIT.failed);
    render(opts.output, payload.node, NODE_COLUMNS);
  }).argument('<node>', 'node name or id');
  if (name === 'on') verb.option('--reason <text>', 'why (shown with the node)');
  return verb;
}

export function nodeCommand(): Command {
  const node = new Command('node').description('Storage nodes');
  node.addCommand(
    withFirstOption(
      apiVerb('list', 'List the storage nodes (every page; --first N for fewer)', async (client, opts) => {
        render(opts.output, await listConnection<Row>(client, { field: 'storageNodes', pageSize: 500, fields: NODE_FIELDS }, {}, firstOf(opts)), NODE_COLUMNS);
      }),
    ),
  );
  node.addCommand(
    apiVerb('show', 'Show one storage node', async (client, opts, ref) => {
      const [id] = await resolveNodes(client, [ref]);
      const data = await client.request<{ storageNode: Row | null }>(`query($id: ID!) { storageNode(id: $id) { ${NODE_FIELDS} } }`, { id });
      render(opts.output, found(data.storageNode, 'storage node', ref), NODE_COLUMNS);
    }).argument('<node>', 'node name or id'),
  );
  node.addCommand(new Command('maintenance').description('Maintenance: keep new replicas off a node').addCommand(maintenanceVerb('on')).addCommand(maintenanceVerb('off')));
  return node;
}

/** `tandem NOUN list|show` over a connection (`listField`) and a lookup by id (`showField`). */
function listShowCommand(noun: string, description: string, listField: string, showField: string, fields: string, columns: Column<Row>[]): Command {
  const cmd = new Command(noun).description(description);
  cmd.addCommand(
    withFirstOption(
      apiVerb('list', `List the ${listField} (every page; --first N for fewer)`, async (client, opts) => {
        render(opts.output, await listConnection<Row>(client, { field: listField, pageSize: 500, fields }, {}, firstOf(opts)), columns);
      }),
    ),
  );
  cmd.addCommand(
    apiVerb('show', `Show one ${noun}`, async (client, opts, id) => {
      const data = await client.request<Record<string, Row | null>>(`query($id: ID!) { ${showField}(id: $id) { ${fields} } }`, { id });
      render(opts.output, found(data[showField], noun, id), columns);
    }).argument('<id>', `${noun} id`),
  );
  return cmd;
}

export const clusterCommand = (): Command => listShowCommand('cluster', 'Clusters', 'clusters', 'cluster', CLUSTER_FIELDS, CLUSTER_COLUMNS);
export const siteCommand = (): Command => listShowCommand('site', 'Sites', 'sites', 'site', SITE_FIELDS, SITE_COLUMNS);

export function alertsCommand(): Command {
  const cmd = apiVerb('alerts', 'Active alerts, newest first (--all adds cleared ones; every page, --first N for fewer)', async (client, opts) => {
    const o = opts as VerbOptions & { all?: boolean; severity?: string[] };
    const alerts = await listConnection<Row>(
      client,
      { field: 'alerts', pageSize: 1000, fields: ALERT_FIELDS, filters: { active: 'Boolean', severity: '[AlertSeverity!]' } },
      { active: o.all ? null : true, severity: o.severity ?? null },
      firstOf(opts),
    );
    render(opts.output, alerts, [
      { header: 'SEVERITY', value: (a) => a.severity },
      { header: 'KIND', value: (a) => a.kind },
      { header: 'SUBJECT', value: (a) => a.subject.name },
      { header: 'ACTIVE', value: (a) => (a.active ? 'yes' : 'no') },
      { header: 'RAISED', value: (a) => a.raisedAt },
      { header: 'MESSAGE', value: (a) => a.message },
    ]);
  });
  withFirstOption(cmd);
  cmd.option('--all', 'cleared alerts too');
  cmd.addOption(new Option('--severity <s...>', 'only these severities').choices(['INFO', 'WARNING', 'CRITICAL']));
  return cmd;
}
