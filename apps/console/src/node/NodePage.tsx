// Node view: identity, version, capacity, portals, sync/heartbeat links per partner, devices, health and maintenance; live.
import { useLiveQuery } from '../api/useLiveQuery';
import { ErrorBox } from '../ui/ErrorBox';
import { formatBytes, formatRelative } from '../ui/format';
import { HealthBadge } from '../ui/HealthBadge';
import { MaintenanceToggle } from './MaintenanceToggle';
import { NodeLinks } from './NodeLinks';
import { NODE, nodeSubscriptions, type Address, type NodeData } from './nodeQueries';

const addresses = (list: Address[]) => (list.length ? list.map((a) => `${a.host}:${a.port}`).join(', ') : '—');

export function NodePage(props: { id: string }) {
  const { data, error, refetch } = useLiveQuery<NodeData>(NODE, { id: props.id }, nodeSubscriptions(props.id));
  const node = data?.storageNode;
  if (data && !node) return <ErrorBox error={`No storage node has the id ${props.id}.`} />;
  return (
    <div data-testid="node-view">
      <ErrorBox error={error} />
      {node && data && (
        <>
          <section className="card">
            <h2 className="row">
              {node.name} <HealthBadge value={node.health} data-testid="node-health" />
              {node.inMaintenance && <HealthBadge value="MAINTENANCE" />}
            </h2>
            {node.healthReasons.length > 0 && (
              <ul data-testid="node-health-reasons">
                {node.healthReasons.map((reason) => (
                  <li key={reason}>{reason}</li>
                ))}
              </ul>
            )}
            <table className="kv">
              <tbody>
                <tr>
                  <th>Cluster</th>
                  <td>{node.cluster ? node.cluster.name : <span className="muted">none</span>}</td>
                </tr>
                <tr>
                  <th>Version</th>
                  <td data-testid="node-version">
                    {node.softwareVersion} <span className="muted">build {node.build}</span>
                  </td>
                </tr>
                <tr>
                  <th>Capacity</th>
                  <td data-testid="node-capacity">
                    {formatBytes(node.allocatedBytes)} allocated of {formatBytes(node.capacityBytes)}
                  </td>
                </tr>
                <tr>
                  <th>Last seen</th>
                  <td data-testid="node-last-seen" title={node.lastSeenAt ?? undefined}>
                    {formatRelative(node.lastSeenAt)} {node.reachable ? '' : <HealthBadge value="UNREACHABLE" />}
                  </td>
                </tr>
                <tr>
                  <th>iSCSI portals</th>
                  <td data-testid="node-portals">{addresses(node.portals)}</td>
                </tr>
                <tr>
                  <th>Sync addresses</th>
                  <td>{addresses(node.syncAddresses)}</td>
                </tr>
                <tr>
                  <th>Heartbeat addresses</th>
                  <td>{addresses(node.heartbeatAddresses)}</td>
                </tr>
                <tr>
                  <th>Maintenance</th>
                  <td>
                    <MaintenanceToggle nodeId={node.id} inMaintenance={node.inMaintenance} reason={node.maintenanceReason} onChanged={refetch} />
                  </td>
                </tr>
              </tbody>
            </table>
          </section>
          <NodeLinks node={node} alerts={data.alerts.edges.map((e) => e.node)} />
          <section className="card">
            <h3>Devices on this node</h3>
            {node.devices.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Device</th>
                    <th>State</th>
                    <th>Size</th>
                    <th>Priority here</th>
                  </tr>
                </thead>
                <tbody>
                  {node.devices.map((device) => (
                    <tr key={device.id} data-testid="node-device-row" data-name={device.name}>
                      <td>
                        <a href={`#/device/${encodeURIComponent(device.id)}`}>{device.name}</a>
                      </td>
                      <td>
                        <HealthBadge value={device.state} />
                      </td>
                      <td>{formatBytes(device.sizeBytes)}</td>
                      <td>{device.replicas.find((r) => r.nodeId === node.id)?.priority ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}
