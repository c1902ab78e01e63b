// What to give a host's initiator: the iSCSI target IQN(s), the portals, and iscsi://host:port/iqn/lun URLs.
import { hostTargets } from './deviceFacts';
import type { DeviceView } from './deviceQueries';

export function HostAccess(props: { device: DeviceView }) {
  const targets = hostTargets(props.device);
  const iqns = [...new Set(targets.map((t) => t.targetName))];
  return (
    <div className="card" data-testid="device-iscsi">
      <h3>Connect a host (iSCSI)</h3>
      {targets.length === 0 ? (
        <p className="muted">No replica is exported yet: the nodes have not reported a LUN for this device.</p>
      ) : (
        <>
          <p>
            Target IQN{iqns.length > 1 ? 's' : ''}:{' '}
            {iqns.map((iqn) => (
              <code key={iqn} data-testid="device-iqn">
                {iqn}{' '}
              </code>
            ))}
            {props.device.replicaCount > 1 && <span className="muted"> — log in through every portal and let multipath (ALUA) choose the path.</span>}
          </p>
          <table>
            <thead>
              <tr>
                <th>Node</th>
                <th>Portal</th>
                <th>LUN</th>
                <th>URL</th>
              </tr>
            </thead>
            <tbody>
              {targets.flatMap((t) =>
                t.urls.map((url, i) => (
                  <tr key={url}>
                    <td>{t.nodeName}</td>
                    <td>{t.portals[i]}</td>
                    <td>{t.lun}</td>
                    <td>
                      <code data-testid="device-iscsi-url">{url}</code>
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
