// Wizard step 3 (HA): sync and heartbeat addresses per node (proposed from the nodes' registered ones), with a warning when the heartbeat shares the sync link; strategy and witness.
import { EnumSelect } from './EnumSelect';
import { chosenReplicas, nodesWithSharedHeartbeat, type ClusterChoice, type WizardState } from './wizardModel';
import type { EnumsAnswer } from './wizardQueries';

export function HeartbeatWarning(props: { state: WizardState; nodeName: (id: string) => string }) {
  const shared = nodesWithSharedHeartbeat(props.state);
  if (shared.length === 0) return null;
  return (
    <div className="error" role="alert" data-testid="wizard-heartbeat-warning" style={{ background: '#fff7e0', color: '#8a5a00', borderColor: '#e6c36a' }}>
      The heartbeat of {shared.map(props.nodeName).join(', ')} runs over the sync link's hosts: a cut sync link also silences the heartbeat, and a dead partner cannot be
      told from a cut cable. Give the heartbeat its own network.
    </div>
  );
}

export function StepLinks(props: {
  state: WizardState;
  enums: EnumsAnswer | undefined;
  cluster: ClusterChoice | undefined;
  nodeName: (id: string) => string;
  update: (patch: Partial<WizardState>) => void;
}) {
  const { state, update } = props;
  const setLink = (nodeId: string, field: 'sync' | 'heartbeat', value: string) => {
    const current = state.links[nodeId] ?? { sync: '', heartbeat: '' };
    update({ links: { ...state.links, [nodeId]: { ...current, [field]: value } } });
  };
  return (
    <fieldset data-testid="wizard-step-links">
      <legend>3. Sync and heartbeat links, arbitration</legend>
      <p className="muted">Addresses as host:port, comma-separated. Left empty, a node's registered addresses are used.</p>
      <table>
        <thead>
          <tr>
            <th>Node</th>
            <th>Sync link</th>
            <th>Heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {chosenReplicas(state).map((r, i) => (
            <tr key={r.nodeId}>
              <td>{props.nodeName(r.nodeId)}</td>
              <td>
                <input type="text" data-testid={`wizard-sync-${i}`} value={state.links[r.nodeId]?.sync ?? ''} onChange={(e) => setLink(r.nodeId, 'sync', e.target.value)} />
              </td>
              <td>
                <input type="text" data-testid={`wizard-heartbeat-${i}`} value={state.links[r.nodeId]?.heartbeat ?? ''} onChange={(e) => setLink(r.nodeId, 'heartbeat', e.target.value)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <HeartbeatWarning state={state} nodeName={props.nodeName} />
      <EnumSelect label="Strategy" testId="wizard-strategy" type={props.enums?.haStrategy ?? null} value={state.strategy} onChange={(strategy) => update({ strategy })} />
      <p>
        <label>
          Witness <input type="text" data-testid="wizard-witness" placeholder="host:port (tandem witness, UDP)" value={state.witness} onChange={(e) => update({ witness: e.target.value })} />
        </label>
        <span className="muted"> the tie-breaker for NODE_MAJORITY{props.cluster?.witness ? ' (proposed: the cluster’s)' : ''}</span>
      </p>
    </fieldset>
  );
}
