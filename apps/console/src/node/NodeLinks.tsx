// The node's sync and heartbeat links to each partner: addresses from its HA replicas, link count and round trip from its last telemetry.
import { formatMillis, formatRelative } from '../ui/format';
import { HealthBadge } from '../ui/HealthBadge';
import type { Address, NodeData, SyncLink } from './nodeQueries';

type StorageNodeView = NonNullable<NodeData['storageNode']>;
type NodeAlert = NodeData['alerts']['edges'][number]['node'];

interface PartnerLink {
  partnerId: string;
  partnerName: string;
  sync: Address[];
  heartbeat: Address[];
  measured: SyncLink | undefined;
  states: { device: string; state: string; reason: string | null }[];
}

const addressText = (list: Address[]) => (list.length ? list.map((a) => `${a.host}:${a.port}`).join(', ') : '—');
const sameAddresses = (a: Address[], b: Address[]) => a.length > 0 && a.some((x) => b.some((y) => x.host === y.host));

/** One row per partner this node mirrors with, whether telemetry or the replicas name it. */
export function partnerLinks(node: StorageNodeView): PartnerLink[] {
  const names = new Map((node.cluster?.nodes ?? []).map((n) => [n.id, n.name]));
  const links = new Map<string, PartnerLink>();
  const linkTo = (partnerId: string): PartnerLink => {
    let link = links.get(partnerId);
    if (!link) {
      link = { partnerId, partnerName: names.get(partnerId) ?? partnerId, sync: [], heartbeat: [], measured: undefined, states: [] };
      links.set(partnerId, link);
    }
    return link;
  };
  for (const device of node.devices) {
    const mine = device.replicas.find((r) => r.nodeId === node.id);
    if (!mine?.ha) continue;
    for (const partner of mine.ha.partners) {
      const link = linkTo(partner.nodeId);
      if (link.sync.length === 0) link.sync = mine.ha.syncAddresses;
      if (link.heartbeat.length === 0) link.heartbeat = mine.ha.heartbeatAddresses;
      link.states.push({ device: device.name, state: partner.state, reason: partner.reason });
    }
  }
  for (const measured of node.syncLinks) linkTo(measured.partnerNodeId).measured = measured;
  return [...links.values()].sort((a, b) => a.partnerName.localeCompare(b.partnerName));
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
              <th>Sync links up</th>
              <th>Sync round trip</th>
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
                <td>
                  {addressText(link.heartbeat)}
                  {sameAddresses(link.heartbeat, link.sync) && <div className="muted">shares the sync link's host</div>}
                </td>
                <td>{link.measured ? `${link.measured.linksUp} of ${link.measured.linksConfigured}` : '—'}</td>
                <td data-testid="link-rtt" title={link.measured ? `measured ${formatRelative(link.measured.observedAt)}` : 'no telemetry yet'}>
                  {formatMillis(link.measured?.rttMicros === null || link.measured === undefined ? undefined : link.measured.rttMicros / 1000)}
                </td>
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
      <p className="muted">Round trip: the slowest live sync link's, from the node's last telemetry (which reports none for the heartbeat).</p>
      <h4>Active alerts about this node and its links</h4>
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
