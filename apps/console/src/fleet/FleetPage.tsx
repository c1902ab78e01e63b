// Fleet view: sites → clusters → nodes → devices with health colours, and the active alerts; live over subscriptions.
import { useLiveQuery } from '../api/useLiveQuery';
import { ErrorBox } from '../ui/ErrorBox';
import { formatBytes, formatRelative } from '../ui/format';
import { HealthBadge } from '../ui/HealthBadge';
import { FLEET, FLEET_SUBSCRIPTIONS, type FleetAlert, type FleetCluster, type FleetData, type FleetNode } from './fleetQueries';

function subjectLink(subject: FleetAlert['subject']): string | undefined {
  if (subject.kind === 'DEVICE') return `#/device/${encodeURIComponent(subject.id)}`;
  if (subject.kind === 'NODE') return `#/node/${encodeURIComponent(subject.id)}`;
  // A link is `<nodeId>_<partnerNodeId>`: the node page shows its links.
  if (subject.kind === 'LINK' && subject.id.includes('_')) return `#/node/${encodeURIComponent(subject.id.split('_')[0])}`;
  return undefined;
}

function AlertList(props: { alerts: FleetAlert[]; total: number }) {
  return (
    <section className="card" data-testid="alerts">
      <h3>
        Active alerts: <span data-testid="alert-count">{props.total}</span>
      </h3>
      {props.alerts.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Severity</th>
              <th>Kind</th>
              <th>Subject</th>
              <th>Message</th>
              <th>Raised</th>
            </tr>
          </thead>
          <tbody>
            {props.alerts.map((alert) => {
              const link = subjectLink(alert.subject);
              return (
                <tr key={alert.id} data-testid="alert-item" data-kind={alert.kind} data-subject={alert.subject.name}>
                  <td>
                    <HealthBadge value={alert.severity} />
                  </td>
                  <td>{alert.kind}</td>
                  <td>
                    {alert.subject.kind.toLowerCase()} {link ? <a href={link}>{alert.subject.name}</a> : alert.subject.name}
                  </td>
                  <td>{alert.message}</td>
                  <td title={alert.raisedAt}>{formatRelative(alert.raisedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NodeRow(props: { node: Pick<FleetNode, 'id' | 'name' | 'health' | 'reachable' | 'inMaintenance'> & { devices?: FleetNode['devices'] } }) {
  const node = props.node;
  return (
    <li data-testid="node-row" data-name={node.name}>
      <span className="row">
        <a href={`#/node/${encodeURIComponent(node.id)}`}>{node.name}</a>
        <HealthBadge value={node.health} data-testid="node-health" />
        {node.inMaintenance && <HealthBadge value="MAINTENANCE" />}
        {node.devices && node.devices.length > 0 && (
          <span className="muted">
            devices:{' '}
            {node.devices.map((d, i) => (
              <span key={d.id}>
                {i > 0 && ', '}
                <a href={`#/device/${encodeURIComponent(d.id)}`}>{d.name}</a>
              </span>
            ))}
          </span>
        )}
      </span>
    </li>
  );
}

function ClusterTree(props: { cluster: FleetCluster }) {
  const { cluster } = props;
  return (
    <li data-testid="cluster-row" data-name={cluster.name}>
      <strong>{cluster.name}</strong> <span className="muted">cluster, {cluster.haStrategy.toLowerCase().replace('_', '-')} strategy</span>
      <ul>
        <li className="muted">Nodes</li>
        <ul>
          {cluster.nodes.length === 0 && <li className="muted">none</li>}
          {cluster.nodes.map((node) => (
            <NodeRow key={node.id} node={node} />
          ))}
        </ul>
        <li className="muted">Devices</li>
        <ul>
          {cluster.devices.length === 0 && <li className="muted">none</li>}
          {cluster.devices.map((device) => (
            <li key={device.id} data-testid="device-row" data-name={device.name}>
              <span className="row">
                <a href={`#/device/${encodeURIComponent(device.id)}`}>{device.name}</a>
                <HealthBadge value={device.state} data-testid="device-state" />
                <span className="muted">
                  {formatBytes(device.sizeBytes)}, {device.synchronizedCopies}/{device.replicaCount} copies in sync, on{' '}
                  {device.replicas.map((r) => r.node?.name ?? r.nodeId).join(', ')}
                </span>
              </span>
            </li>
          ))}
        </ul>
      </ul>
    </li>
  );
}

export function FleetPage() {
  const { data, error, loading, updates } = useLiveQuery<FleetData>(FLEET, undefined, FLEET_SUBSCRIPTIONS);
  const unclustered = (data?.storageNodes.edges ?? []).map((e) => e.node).filter((n) => n.clusterId === null);
  return (
    <div data-testid="fleet-view">
      <ErrorBox error={error} />
      {loading && !data && <p className="muted">Loading the fleet…</p>}
      {data && (
        <>
          <AlertList alerts={data.alerts.edges.map((e) => e.node)} total={data.alerts.totalCount} />
          <section className="card tree">
            <h3>
              Fleet <span className="muted live">live, {updates} update(s) received</span>
            </h3>
            {data.sites.edges.length === 0 && <p className="muted">No sites yet.</p>}
            <ul>
              {data.sites.edges.map(({ node: site }) => (
                <li key={site.id} data-testid="site-row" data-name={site.name}>
                  <strong>{site.name}</strong> <span className="muted">site{site.description ? `: ${site.description}` : ''}</span>
                  <ul>
                    {site.clusters.length === 0 && <li className="muted">no clusters</li>}
                    {site.clusters.map((cluster) => (
                      <ClusterTree key={cluster.id} cluster={cluster} />
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
            {data.sites.pageInfo.hasNextPage && <p className="muted">Showing the first 100 sites by name.</p>}
            {unclustered.length > 0 && (
              <>
                <h4>Nodes in no cluster</h4>
                <ul>
                  {unclustered.map((node) => (
                    <NodeRow key={node.id} node={node} />
                  ))}
                </ul>
              </>
            )}
          </section>
        </>
      )}
    </div>
  );
}
