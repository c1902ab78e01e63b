/** The block `tandem stack` prints once ready: where everything is and how to use it, with real ids ready to paste. */
import * as path from 'path';
import type { ApiToken } from './apiToken';
import type { DemoFleet } from './demoFleet';
import { formatEndpoint, type StackOptions } from './stackOptions';

export interface ReadyFacts {
  options: StackOptions;
  nats: { url: string; child: unknown };
  graphqlUrl: string;
  token: ApiToken;
  fleet: DemoFleet;
  /** `npx tandem stack kill node-b` (with --data-dir when not the default). */
  nodeCommand: (verb: 'kill' | 'restart', node: string) => string;
}

export function readyReport({ options: o, nats, graphqlUrl, token, fleet, nodeCommand }: ReadyFacts): string {
  const first = fleet.nodes.find((n) => n.inCluster) ?? fleet.nodes[0];
  const firstNode = o.nodes.find((n) => n.name === first.name)!;
  // `tandem events tail` reads the same environment: repeat what differs from the defaults.
  const natsEnv = [`NATS_URL=${nats.url}`, ...['TANDEM_SUBJECT_PREFIX', 'TANDEM_EVENTS_STREAM'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`)].join(' ');
  const tokenWhere = token.source === 'environment' ? 'from TANDEM_API_TOKEN' : `${token.source === 'generated' ? 'generated, ' : ''}kept in ${token.file}`;
  const mutation = 'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { aggregateId device { id name sizeBytes } errors { ... on UserError { code message } } } }';
  const body = JSON.stringify({
    query: mutation,
    variables: { input: { clusterId: fleet.clusterId, name: 'disk1', sizeBytes: 1024 ** 3, replicas: [{ nodeId: first.nodeId, priority: 100 }] } },
  });
  const nodeLines = fleet.nodes.map((n) => {
    const node = o.nodes.find((s) => s.name === n.name)!;
    return `    ${n.name}  ${n.nodeId}  iSCSI ${formatEndpoint(node.iscsi)}  health http://${formatEndpoint(node.http)}/health${n.inCluster ? '' : `  (${n.note})`}`;
  });
  return (
    [
      '',
      `tandem stack: ready (pid ${process.pid}, data in ${o.dataDir})`,
      '',
      `  GraphQL   ${graphqlUrl}   (reads open on loopback; mutations need the token)`,
      `  API token ${token.token}   (${tokenWhere})`,
      `  Console: open ${graphqlUrl.replace(/\/graphql$/, '/')} and log in with the token above`,
      `  NATS      ${nats.url}${nats.child ? `   (private nats-server, JetStream store ${path.join(o.dataDir, 'nats')})` : '   (NATS_URL)'}`,
      `  Database  ${o.databaseUrl ? 'DATABASE_URL (Postgres)' : `embedded PGlite in ${path.join(o.dataDir, 'pgdata')}`}`,
      `  Site ${fleet.siteId} "demo", cluster ${fleet.clusterId} "demo":`,
      ...nodeLines,
      `  Logs      ${path.join(o.dataDir, 'logs')}/`,
      '',
      `  Create a 1 GiB disk on ${first.name}:`,
      `    curl -s ${graphqlUrl} -H 'content-type: application/json' -H 'authorization: Bearer ${token.token}' \\`,
      `      -d '${body}'`,
      '  The nodes and where their disks are:',
      `    curl -s ${graphqlUrl} -H 'content-type: application/json' -d '{"query":"{ storageNodes { edges { node { id name clusterId portals { host port } devices { id name } } } } }"}'`,
      `  ${first.name}'s targets (a device appears as iqn.2026-11.io.tandem:<deviceId> once exported):`,
      `    iscsi-ls -s iscsi://${formatEndpoint(firstNode.iscsi)}`,
      '  The event stream:',
      `    ${natsEnv} npx tandem events tail`,
      `  A node dies (${o.autoRestart ? 'the stack restarts it' : '--no-restart: it stays down until restarted'}):`,
      `    ${nodeCommand('kill', fleet.nodes[fleet.nodes.length - 1].name)}   (then ${nodeCommand('restart', fleet.nodes[fleet.nodes.length - 1].name)})`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n'
  );
}
