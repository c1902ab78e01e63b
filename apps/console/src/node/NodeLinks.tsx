// The node's sync and heartbeat links to each partner, as its HA replicas report them, with the round trip where the API has one.
import { formatMillis } from '../ui/format';
import { HealthBadge } from '../ui/HealthBadge';
import type { Address, NodeData } from './nodeQueries';

type StorageNodeView = NonNullable<NodeData['storageNode']>;
type NodeAlert = NodeData['alerts']['edges'][number]['node'];

interface PartnerLink {
  partnerId: string;
  partnerName: string;
  sync: Address[];
  heartbeat: Address[];
  states: { device: string; state: string; reason: string | null }[];
}

const addressText = (list: Address[]) => (list.length ? list.map((a) => `${a.host}:${a.port}`).join(', ') : '—');

/** Round trip in ms from a SyncLatencyHigh alert's evidence about the link to this partner, if one is active. */
function roundTripOf(alerts: NodeAlert[], nodeId: string, partnerId: string): number | undefined {
  for (const alert of alerts) {
    if (alert.subject.id !== `${nodeId}_${partnerId}`) continue;
    const evidence = alert.evidence as { rttMicros?: unknown } | null;
    if (evidence && typeof evidence.rttMicros === 'number') return evidence.rttMicros / 1000;
  }
  return undefined;
}

export function partnerLinks(node: StorageNodeView): PartnerLink[] {
  const names = new Map((node.cluster?.nodes ?? []).map((n) => [n.id, n.name]));
  const links = new Map<string, PartnerLink>();
  for (const device of node.devices) {
    const mine = device.replicas.find((r) => r.nodeId === node.id);
    if (!mine?.ha) continue;
    for (const partner of mine.ha.partners) {
      const theirs = device.replicas.find((r) => r.nodeId === partner.nodeId);
      let link = links.get(partner.nodeId);
      if (!link) {
        link = { partnerId: partner.nodeId, partnerName: names.get(partner.nodeId) ?? partner.nodeId, sync: mine.ha.syncAddresses, heartbeat: mine.ha.heartbeatAddresses, states: [] };
        links.set(partner.nodeId, link);
      }
      if (theirs?.ha) link.sync = [...link.sync];
      link.states.push({ device: device.name, state: partner.state, reason: partner.reason });
    }
  }
  return [...links.values()];
}

export function NodeLinks(props: { node: StorageNodeView; alerts: NodeAlert[] }) {
  const links = partnerLinks(props.node);
  return (
    <section className="card" data-testid="node-links">
      <h3>Sync and heartbeat links</h3>
      {links.length === 0 ? (
        <p className="muted">No HA replica on this node, so no links to partners.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Partner</th>
              <th>Sync from here</th>
              <th>Heartbeat from here</th>
              <th>Round trip</th>
              <th>Per device</th>
            </tr>
          </thead>
          <tbody>
            {links.map((link) => (
              <tr key={link.partnerId} data-testid="node-link" data-partner={link.partnerName}>
                <td>
                  <a href={`#/node/${encodeURIComponent(link.partnerId)}`}>{link.partnerName}</a>
                </td>
                <td>{addressText(link.sync)}</td>
                <td>{addressText(link.heartbeat)}</td>
                <td>{formatMillis(roundTripOf(props.alerts, props.node.id, link.partnerId))}</td>
                <td>
                  {link.states.map((s) => (
                    <div key={s.device}>
                      {s.device} <HealthBadge value={s.state} /> {s.reason && <span className="muted">{s.reason}</span>}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Active alerts about this node</h4>
      {props.alerts.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {props.alerts.map((a) => (
            <li key={a.id} data-testid="node-alert">
              <HealthBadge value={a.severity} /> {a.kind}: {a.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
