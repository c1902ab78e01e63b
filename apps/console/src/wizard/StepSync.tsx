// Wizard last step: the initial sync (HA) and a summary of everything chosen, to keep for the records before creating.
import { formatBytes } from '../ui/format';
import { parseSize } from '../device/sizeUnits';
import { EnumSelect } from './EnumSelect';
import { HeartbeatWarning } from './StepLinks';
import { chosenReplicas, type ClusterChoice, type WizardState } from './wizardModel';
import type { EnumsAnswer } from './wizardQueries';

function sizeText(text: string): string {
  try {
    const bytes = parseSize(text);
    return `${formatBytes(bytes)} (${bytes} bytes)`;
  } catch {
    return text;
  }
}

export function StepSync(props: {
  state: WizardState;
  enums: EnumsAnswer | undefined;
  cluster: ClusterChoice | undefined;
  nodeName: (id: string) => string;
  update: (patch: Partial<WizardState>) => void;
}) {
  const { state, update } = props;
  const replicas = chosenReplicas(state);
  return (
    <fieldset data-testid="wizard-step-sync">
      <legend>{state.ha ? '4. Initial sync and summary' : '3. Summary'}</legend>
      {state.ha && (
        <>
          <EnumSelect label="Initial sync" testId="wizard-initial-sync" type={props.enums?.initialSync ?? null} value={state.initialSync} onChange={(initialSync) => update({ initialSync })} />
          {state.initialSync === 'SYNC_FROM' && (
            <p>
              <label>
                Copy the data of{' '}
                <select data-testid="wizard-sync-from" value={state.syncFromNodeId} onChange={(e) => update({ syncFromNodeId: e.target.value })}>
                  <option value="">— choose a node —</option>
                  {replicas.map((r) => (
                    <option key={r.nodeId} value={r.nodeId}>
                      {props.nodeName(r.nodeId)}
                    </option>
                  ))}
                </select>
              </label>
            </p>
          )}
        </>
      )}
      <table data-testid="wizard-summary">
        <tbody>
          <tr><th>Name</th><td>{state.name}</td></tr>
          <tr><th>Size</th><td>{sizeText(state.size)}</td></tr>
          <tr><th>Sector size</th><td>{state.sectorSize} bytes</td></tr>
          <tr><th>Store kind</th><td>{state.storeKind}</td></tr>
          <tr><th>Cache</th><td>{state.cacheMode}</td></tr>
          <tr><th>Cluster</th><td>{props.cluster?.name ?? '—'}</td></tr>
          <tr>
            <th>{state.ha ? 'HA replicas' : 'Replica'}</th>
            <td>
              {replicas.map((r) => (
                <div key={r.nodeId}>
                  {props.nodeName(r.nodeId)}, priority {r.priority}
                  {state.ha && state.links[r.nodeId] ? ` · sync ${state.links[r.nodeId].sync || '(registered)'} · heartbeat ${state.links[r.nodeId].heartbeat || '(registered)'}` : ''}
                </div>
              ))}
            </td>
          </tr>
          {state.ha && (
            <>
              <tr><th>Strategy</th><td>{state.strategy}</td></tr>
              <tr><th>Witness</th><td>{state.witness || '—'}</td></tr>
              <tr><th>Initial sync</th><td>{state.initialSync}{state.initialSync === 'SYNC_FROM' && state.syncFromNodeId ? ` from ${props.nodeName(state.syncFromNodeId)}` : ''}</td></tr>
            </>
          )}
        </tbody>
      </table>
      {state.ha && <HeartbeatWarning state={state} nodeName={props.nodeName} />}
    </fieldset>
  );
}
