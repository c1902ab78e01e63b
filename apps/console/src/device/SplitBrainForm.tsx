// Resolve split-brain (SPLIT_BRAIN only): the evidence each replica reported, the survivor the operator picks, and its name typed to confirm.
import { useState, type FormEvent } from 'react';
import { RESOLVE_SPLIT_BRAIN, type DeviceView } from './deviceQueries';
import { runMutation } from './runMutation';

export function SplitBrainForm(props: { device: DeviceView; disabled: boolean; onResolved: () => void }) {
  const { device } = props;
  const choices = device.replicas.map((r) => ({ nodeId: r.nodeId, name: r.node?.name ?? r.nodeId }));
  const [survivor, setSurvivor] = useState('');
  const [confirmName, setConfirmName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = choices.find((c) => c.nodeId === survivor);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setBusy(true);
    const failure = await runMutation(RESOLVE_SPLIT_BRAIN, 'resolveSplitBrain', { deviceId: device.id, survivorNodeId: chosen.nodeId });
    setBusy(false);
    setError(failure);
    if (failure === null) props.onResolved();
  };

  return (
    <div className="card" data-testid="splitbrain-panel">
      <h3>Resolve split-brain</h3>
      <p>
        The replicas went on alone and diverged. Choose the node whose data survives: the other replicas are overwritten with a copy of it; nothing is merged.
      </p>
      <strong>Evidence</strong>
      <ul data-testid="splitbrain-evidence">
        {device.health.splitBrainEvidence.length === 0 && <li className="muted">no evidence reported</li>}
        {device.health.splitBrainEvidence.map((line) => (
          <li key={line}>{line}</li>
        ))}
        {device.replicas.flatMap((r) =>
          (r.ha?.partners ?? [])
            .filter((p) => p.state === 'SPLIT_BRAIN' && p.reason)
            .map((p) => (
              <li key={`${r.nodeId}-${p.nodeId}`}>
                {r.node?.name ?? r.nodeId} about {choices.find((c) => c.nodeId === p.nodeId)?.name ?? p.nodeId}: {p.reason}
              </li>
            )),
        )}
      </ul>
      <form onSubmit={submit}>
        <div className="row">
          <label>
            Survivor{' '}
            <select data-testid="splitbrain-survivor" value={survivor} disabled={props.disabled} onChange={(e) => setSurvivor(e.target.value)}>
              <option value="">— choose a node —</option>
              {choices.map((c) => (
                <option key={c.nodeId} value={c.nodeId}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Type its name to confirm{' '}
            <input type="text" data-testid="splitbrain-confirm-name" value={confirmName} disabled={props.disabled} onChange={(e) => setConfirmName(e.target.value)} />
          </label>
          <button type="submit" className="primary" data-testid="splitbrain-submit" disabled={props.disabled || busy || !chosen || confirmName !== chosen.name}>
            Keep its data
          </button>
        </div>
      </form>
      {error && (
        <div className="error" role="alert" data-testid="action-error" style={{ whiteSpace: 'pre-wrap' }}>
          {error}
        </div>
      )}
    </div>
  );
}
