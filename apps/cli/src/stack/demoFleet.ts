/**
 * The demo fleet: a site and a cluster named `demo`, and the stack's nodes in that cluster, made through the
 * orchestrator's CommandBus like any other client's commands. Idempotent: what exists (found by name in the read
 * models) is reused, so a restart changes nothing; a node an operator moved to another cluster is left there.
 */
import type { CommandBus, CommandInput, FleetSnapshot, ReadModels } from '@tandem/orchestrator';

export const DEMO_SITE = 'demo';
export const DEMO_CLUSTER = 'demo';
const ACTOR = 'system:tandem-stack';
/** A name found taken while the read models do not show it yet is looked up again for this long. */
const LAG_TIMEOUT_MS = 10_000;

export interface DemoFleet {
  siteId: string;
  clusterId: string;
  /** Node name → what became of it. */
  nodes: { name: string; nodeId: string; inCluster: boolean; note?: string }[];
}

export async function ensureDemoFleet(bus: CommandBus, readModels: ReadModels, nodes: { name: string; nodeId: string }[]): Promise<DemoFleet> {
  const run = async (command: CommandInput) => {
    const reply = await bus.execute(command, ACTOR);
    if (reply.ok && reply.globalPosition !== undefined) await readModels.waitFor(reply.globalPosition);
    return reply;
  };

  const siteId = await ensureByName(
    readModels,
    (s) => s.sites.find((site) => site.name === DEMO_SITE)?.siteId,
    () => run({ type: 'CreateSite', payload: { name: DEMO_SITE, description: 'made by tandem stack' } }),
    `site ${DEMO_SITE}`,
  );
  const clusterId = await ensureByName(
    readModels,
    (s) => s.clusters.find((c) => c.siteId === siteId && c.name === DEMO_CLUSTER)?.clusterId,
    () => run({ type: 'CreateCluster', payload: { siteId, name: DEMO_CLUSTER } }),
    `cluster ${DEMO_CLUSTER}`,
  );

  const result: DemoFleet['nodes'] = [];
  for (const node of nodes) {
    const row = await waitForNode(readModels, node.nodeId);
    if (row.clusterId === clusterId) {
      result.push({ ...node, inCluster: true });
      continue;
    }
    if (row.clusterId) {
      result.push({ ...node, inCluster: false, note: `left in cluster ${row.clusterId}, where it was put` });
      continue;
    }
    const reply = await run({ type: 'AddNodeToCluster', payload: { nodeId: node.nodeId, clusterId } });
    if (!reply.ok) throw new Error(`cannot add ${node.name} (${node.nodeId}) to cluster ${DEMO_CLUSTER}: ${reply.error.code}: ${reply.error.message}`);
    result.push({ ...node, inCluster: true });
  }
  return { siteId, clusterId, nodes: result };
}

async function ensureByName(
  readModels: ReadModels,
  find: (snapshot: FleetSnapshot) => string | undefined,
  create: () => ReturnType<CommandBus['execute']>,
  what: string,
): Promise<string> {
  const deadline = Date.now() + LAG_TIMEOUT_MS;
  for (;;) {
    const existing = find(await readModels.snapshot());
    if (existing) return existing;
    const reply = await create();
    if (reply.ok) return reply.aggregateId;
    // CONFLICT: the name is taken but the read models have not shown it yet; look again.
    if (reply.error.code !== 'CONFLICT' || Date.now() > deadline) throw new Error(`cannot create ${what}: ${reply.error.code}: ${reply.error.message}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A node's registration was committed before its agent heard the reply; the read models may trail by a moment. */
async function waitForNode(readModels: ReadModels, nodeId: string) {
  const deadline = Date.now() + LAG_TIMEOUT_MS;
  for (;;) {
    const row = (await readModels.snapshot()).nodes.find((n) => n.nodeId === nodeId);
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`node ${nodeId} registered but is not in the read models after ${LAG_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
