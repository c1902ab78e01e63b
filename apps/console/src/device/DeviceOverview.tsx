// The device's state at a glance: health badge, synchronized copies, size, why it is in its state, its active alerts, resync progress, cache and HA settings.
import { HealthBadge } from '../ui/HealthBadge';
import { formatBytes, formatDuration } from '../ui/format';
import { formatAddress, shutdownEstimates } from './deviceFacts';
import type { DeviceAlertView, DeviceView, NodeAlertView } from './deviceQueries';
import { ResyncProgress } from './ResyncProgress';
import { formatByteCount } from './sizeUnits';

export function DeviceOverview(props: { device: DeviceView; alerts: DeviceAlertView[]; nodeAlerts: NodeAlertView[]; nodeName: (id: string) => string; live: boolean }) {
  const { device } = props;
  const health = device.health;
  const showResync = health.resyncs.length > 0 || device.state === 'RESYNCING';
  const estimates = shutdownEstimates(device, props.nodeAlerts);
  return (
    <div className="card">
      <div className="row">
        <HealthBadge value={device.state} data-testid="device-state" />
        <span data-testid="device-copies">
          {device.synchronizedCopies}/{device.replicaCount} copies synchronized
        </span>
        <span>·</span>
        <span data-testid="device-size" data-bytes={device.sizeBytes} title={formatByteCount(device.sizeBytes)}>
          {formatBytes(device.sizeBytes)} ({formatByteCount(device.sizeBytes)})
        </span>
      </div>
      {health.reasons.length > 0 && (
        <ul data-testid="device-health-reasons">
          {health.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {props.alerts.length > 0 && (
        <ul data-testid="device-alerts">
          {props.alerts.map((a) => (
            <li key={a.id} data-testid="device-alert" data-kind={a.kind}>
              <HealthBadge value={a.severity} /> <strong>{a.kind}</strong> {a.message}
            </li>
          ))}
        </ul>
      )}
      {health.blockedReasons.length > 0 && (
        <div>
          <strong>I/O blocked:</strong>
          <ul data-testid="device-blocked-reasons">
            {health.blockedReasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {showResync && <ResyncProgress resyncs={health.resyncs} nodeName={props.nodeName} />}
      <table>
        <tbody>
          <tr>
            <th>Cluster</th>
            <td>{device.cluster?.name ?? device.cluster?.id ?? '—'}</td>
            <th>Sector size</th>
            <td>{device.sectorSize} B</td>
            <th>Store</th>
            <td>{device.storeKind}</td>
          </tr>
          <tr>
            <th>Cache mode</th>
            <td data-testid="device-cache-mode">{device.cacheMode}</td>
            <th>Dirty bytes / shutdown estimate</th>
            <td colSpan={3} data-testid="device-shutdown-estimate">
              {estimates.length === 0 ? (
                <span className="muted">
                  {props.live ? 'no replica has reported its cache yet' : 'not kept in the log (an observation, not an event)'}
                </span>
              ) : (
                estimates.map((e) => (
                  <div key={e.nodeId} data-testid="replica-cache" data-node={e.nodeName}>
                    {e.nodeName}: {e.dirtyBytes !== null ? `${formatBytes(e.dirtyBytes)} dirty` : '?'}, about{' '}
                    {e.flushSeconds !== null ? formatDuration(e.flushSeconds) : '?'} to write out
                    {e.message !== null && (
                      <span className="warn"> · the node is over its shutdown limit{e.limitSeconds !== null ? ` (${formatDuration(e.limitSeconds)})` : ''}: {e.message}</span>
                    )}
                  </div>
                ))
              )}
            </td>
          </tr>
          {device.ha && (
            <tr>
              <th>HA strategy</th>
              <td>{device.ha.strategy}</td>
              <th>Witness</th>
              <td>{device.ha.witness.length > 0 ? device.ha.witness.map(formatAddress).join(', ') : '—'}</td>
              <th>Initial sync</th>
              <td>
                {device.ha.initialSync}
                {device.ha.syncFromNodeId ? ` from ${props.nodeName(device.ha.syncFromNodeId)}` : ''}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
