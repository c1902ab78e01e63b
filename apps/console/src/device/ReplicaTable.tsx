// Each replica of the device: its node, priority and role, whether it serves and is synchronized, the ALUA state of its paths per port group, and how it sees its partners.
import { HealthBadge } from '../ui/HealthBadge';
import { formatBytes } from '../ui/format';
import type { DeviceView, ReplicaView } from './deviceQueries';

/** Primary / secondary / tertiary by priority (higher wins a split), as seed 003 names the pair. */
function roleOf(replica: ReplicaView, all: ReplicaView[]): string {
  if (all.length === 1) return 'single';
  const rank = [...all].sort((a, b) => b.priority - a.priority).findIndex((r) => r.nodeId === replica.nodeId);
  return ['primary', 'secondary', 'tertiary'][rank] ?? `#${rank + 1}`;
}

export function ReplicaTable(props: { device: DeviceView; nodeName: (id: string) => string }) {
  const { device } = props;
  const healthOf = (nodeId: string) => device.health.replicas.find((r) => r.nodeId === nodeId);
  return (
    <div className="card">
      <h3>Replicas</h3>
      <table data-testid="replica-table">
        <thead>
          <tr>
            <th>Node</th>
            <th>Priority / role</th>
            <th>Replica</th>
            <th>Sync</th>
            <th>ALUA (port group)</th>
            <th>Partners as it sees them</th>
          </tr>
        </thead>
        <tbody>
          {device.replicas.map((r) => {
            const h = healthOf(r.nodeId);
            return (
              <tr key={r.nodeId} data-testid="replica-row" data-node-id={r.nodeId} data-node-name={r.node?.name ?? ''}>
                <td>
                  <a href={`#/node/${encodeURIComponent(r.nodeId)}`}>{r.node?.name ?? props.nodeName(r.nodeId)}</a>{' '}
                  <HealthBadge value={r.node ? (r.node.reachable ? r.node.health : 'UNREACHABLE') : null} />
                  {r.node?.inMaintenance && <span className="muted"> (maintenance)</span>}
                </td>
                <td>
                  {r.priority} · {roleOf(r, device.replicas)}
                </td>
                <td>
                  <HealthBadge value={r.export} /> <HealthBadge value={r.state} />
                  {r.storeKind && <span className="muted"> {r.storeKind}</span>}
                  {r.lastError && <div className="error">{r.lastError}</div>}
                </td>
                <td data-testid="replica-sync">
                  <HealthBadge value={h ? (h.synchronized ? 'SYNCHRONIZED' : 'NOT_SYNCHRONIZED') : null} />
                  {h && !h.serving && <span className="muted"> not serving</span>}
                  {h?.reason && <div className="muted">{h.reason}</div>}
                </td>
                <td data-testid="replica-alua">
                  {r.ha ? (
                    <>
                      group {r.ha.portGroup}: <HealthBadge value={r.ha.accessState ?? null} />
                      <div className="muted">
                        asked {r.ha.paths}
                        {r.ha.blocked ? ` · blocked${r.ha.blockedReason ? `: ${r.ha.blockedReason}` : ''}` : ''}
                      </div>
                    </>
                  ) : (
                    <span className="muted">single path (no ALUA group)</span>
                  )}
                </td>
                <td data-testid="replica-partners">
                  {r.ha && r.ha.partners.length > 0
                    ? r.ha.partners.map((p) => (
                        <div key={p.nodeId}>
                          {props.nodeName(p.nodeId)}: <HealthBadge value={p.state} />
                          {p.resyncKind && p.resyncTotalBytes !== null && (
                            <span className="muted">
                              {' '}
                              {p.resyncKind} {formatBytes(p.resyncDoneBytes ?? 0)} of {formatBytes(p.resyncTotalBytes)}
                            </span>
                          )}
                          {p.reason && <div className="muted">{p.reason}</div>}
                        </div>
                      ))
                    : <span className="muted">{r.ha ? 'no report yet' : '—'}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
