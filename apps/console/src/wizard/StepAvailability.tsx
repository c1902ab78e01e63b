// Wizard step 2: availability — HA or single, the cluster, and the nodes with their priorities (defaults proposed).
import { HealthBadge } from '../ui/HealthBadge';
import type { ClusterChoice, ReplicaChoice, WizardState } from './wizardModel';

export function StepAvailability(props: {
  state: WizardState;
  clusters: ClusterChoice[];
  setHa: (ha: boolean) => void;
  setCluster: (clusterId: string) => void;
  setReplica: (index: number, patch: Partial<ReplicaChoice>) => void;
}) {
  const { state } = props;
  const cluster = props.clusters.find((c) => c.id === state.clusterId);
  const nodes = cluster?.nodes ?? [];
  return (
    <fieldset data-testid="wizard-step-availability">
      <legend>2. Availability</legend>
      <p>
        <label>
          <input type="checkbox" data-testid="wizard-ha" checked={state.ha} onChange={(e) => props.setHa(e.target.checked)} /> Highly available (2 or 3 replicas
          mirrored synchronously, one LU identity)
        </label>
      </p>
      <p>
        <label>
          Cluster{' '}
          <select data-testid="wizard-cluster" value={state.clusterId} onChange={(e) => props.setCluster(e.target.value)}>
            {props.clusters.length === 0 && <option value="">— no cluster —</option>}
            {props.clusters.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.nodes.length} node{c.nodes.length === 1 ? '' : 's'})
              </option>
            ))}
          </select>
        </label>
      </p>
      <table>
        <thead>
          <tr>
            <th>Replica</th>
            <th>Node</th>
            <th>Priority (higher wins a split)</th>
          </tr>
        </thead>
        <tbody>
          {state.replicas.map((r, i) => {
            const node = nodes.find((n) => n.id === r.nodeId);
            const optional = state.ha && i === 2;
            return (
              <tr key={i}>
                <td>{state.ha ? ['primary', 'partner', 'third (optional)'][i] : 'single'}</td>
                <td>
                  <select data-testid={`wizard-node-${i}`} value={r.nodeId} onChange={(e) => props.setReplica(i, { nodeId: e.target.value })}>
                    <option value="">{optional ? '— none —' : '— choose a node —'}</option>
                    {nodes.map((n) => (
                      <option key={n.id} value={n.id}>
                        {n.name}
                      </option>
                    ))}
                  </select>{' '}
                  {node && <HealthBadge value={node.reachable ? node.health : 'UNREACHABLE'} />}
                  {node?.inMaintenance && <span className="muted"> in maintenance</span>}
                </td>
                <td>
                  <input
                    type="number"
                    data-testid={`wizard-priority-${i}`}
                    value={r.priority}
                    disabled={optional && r.nodeId === ''}
                    onChange={(e) => props.setReplica(i, { priority: e.target.value })}
                    style={{ width: '6rem' }}
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </fieldset>
  );
}
