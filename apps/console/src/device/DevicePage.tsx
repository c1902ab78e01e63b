// The device page: state, replicas, resync, host access, actions and the event timeline, live over `deviceChanged`, or as of an earlier event (time travel).
import { useCallback, useState } from 'react';
import { ErrorBox } from '../ui/ErrorBox';
import { DeviceActions } from './DeviceActions';
import { alertsActiveAt } from './deviceFacts';
import { DeviceOverview } from './DeviceOverview';
import { EventTimeline } from './EventTimeline';
import { HostAccess } from './HostAccess';
import { ReplicaTable } from './ReplicaTable';
import { SplitBrainForm } from './SplitBrainForm';
import { useDeviceData } from './useDeviceData';

export function DevicePage(props: { id: string }) {
  const [atPosition, setAtPosition] = useState<number | null>(null);
  const data = useDeviceData(props.id, atPosition);
  const live = atPosition === null;
  const { device } = data;
  const nameOf = useCallback(
    (nodeId: string) => device?.replicas.find((r) => r.nodeId === nodeId)?.node?.name ?? device?.health.replicas.find((r) => r.nodeId === nodeId)?.nodeName ?? nodeId.slice(0, 8),
    [device],
  );
  const travelEntry = atPosition === null ? undefined : data.timeline.find((e) => e.position === atPosition);

  return (
    <div data-testid="device-view" data-live={live ? 'true' : 'false'} data-at-position={atPosition ?? ''}>
      <div className="row">
        <h2 style={{ margin: 0 }}>{device ? device.name : 'Device'}</h2>
        <span className="muted">{props.id}</span>
        <span className="spacer" style={{ flex: 1 }} />
        {live ? (
          <span className="live muted" data-testid="device-live" data-updates={data.updates}>
            ● live ({data.updates} update{data.updates === 1 ? '' : 's'})
          </span>
        ) : null}
      </div>
      {atPosition !== null && (
        <div className="card" data-testid="time-travel-banner" role="status" style={{ background: '#fff7e0', borderColor: '#e6c36a' }}>
          <div className="row">
            <span>
              Time travel: as of event #{atPosition}
              {travelEntry ? `, ${new Date(travelEntry.recordedAt).toLocaleString()} (${travelEntry.type})` : ''}. Actions are disabled.
            </span>
            <button type="button" className="primary" data-testid="time-travel-exit" onClick={() => setAtPosition(null)}>
              Back to live
            </button>
          </div>
        </div>
      )}
      <ErrorBox error={data.error} data-testid="device-error" />
      {device === undefined && !data.error && <p className="muted">Loading…</p>}
      {device === null && (
        <div className="card" data-testid="device-missing">
          {live ? 'No device has this id (it may have been deleted).' : `The device did not exist as of event #${atPosition}.`}
        </div>
      )}
      {device && (
        <>
          <DeviceOverview device={device} alerts={alertsActiveAt(data.deviceAlerts, atPosition)} nodeAlerts={live ? data.nodeAlerts : []} nodeName={nameOf} live={live} />
          {device.state === 'SPLIT_BRAIN' && <SplitBrainForm device={device} disabled={!live} onResolved={data.refetch} />}
          <ReplicaTable device={device} nodeName={nameOf} />
          <HostAccess device={device} />
          <DeviceActions device={device} disabled={!live} onChanged={data.refetch} />
        </>
      )}
      <EventTimeline entries={data.timeline} selected={atPosition} onPick={setAtPosition} error={data.timelineError} truncated={data.timelineTruncated} />
    </div>
  );
}
