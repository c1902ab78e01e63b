// Device view (scaffold version: name, state and size; the device helper replaces it with the full view).
import { useLiveQuery } from '../api/useLiveQuery';
import { ErrorBox } from '../ui/ErrorBox';
import { formatBytes } from '../ui/format';
import { HealthBadge } from '../ui/HealthBadge';

const DEVICE = `query Device($id: ID!) { device(id: $id) { id name state sizeBytes replicaCount } }`;
const CHANGED = `subscription DeviceChanged($id: ID) { deviceChanged(deviceId: $id) { deviceId } }`;

interface DeviceData {
  device: { id: string; name: string; state: string; sizeBytes: number; replicaCount: number } | null;
}

export function DevicePage(props: { id: string }) {
  const { data, error } = useLiveQuery<DeviceData>(DEVICE, { id: props.id }, [{ query: CHANGED, variables: { id: props.id } }]);
  const device = data?.device;
  return (
    <section className="card" data-testid="device-view">
      <ErrorBox error={error} />
      {data && !device && <p>No device has the id {props.id}.</p>}
      {device && (
        <>
          <h2>
            {device.name} <HealthBadge value={device.state} data-testid="device-state" />
          </h2>
          <p className="muted">
            {formatBytes(device.sizeBytes)}, {device.replicaCount} replica(s)
          </p>
        </>
      )}
    </section>
  );
}
