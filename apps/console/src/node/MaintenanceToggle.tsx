// The node's maintenance flag as a toggle over enterMaintenance / exitMaintenance, showing the payload's typed errors.
import { useState } from 'react';
import { gql } from '../api/client';
import { ErrorBox } from '../ui/ErrorBox';
import { ENTER_MAINTENANCE, EXIT_MAINTENANCE, type MaintenancePayload } from './nodeQueries';

function errorText(payload: MaintenancePayload): string | undefined {
  if (payload.errors.length === 0) return undefined;
  return payload.errors
    .map((e) => {
      const problems = e.problems?.length ? ` (${e.problems.map((p) => `${p.path}: ${p.message}`).join('; ')})` : '';
      return `${e.code}: ${e.message}${problems}`;
    })
    .join('; ');
}

export function MaintenanceToggle(props: { nodeId: string; inMaintenance: boolean; reason: string | null; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [reason, setReason] = useState('');

  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const payload = props.inMaintenance
        ? (await gql<{ exitMaintenance: MaintenancePayload }>(EXIT_MAINTENANCE, { input: { nodeId: props.nodeId } })).exitMaintenance
        : (await gql<{ enterMaintenance: MaintenancePayload }>(ENTER_MAINTENANCE, { input: { nodeId: props.nodeId, ...(reason.trim() ? { reason: reason.trim() } : {}) } }))
            .enterMaintenance;
      setError(errorText(payload));
      props.onChanged();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <span className="row">
        <label className="row">
          <input type="checkbox" data-testid="maintenance-toggle" checked={props.inMaintenance} disabled={busy} onChange={toggle} />
          {props.inMaintenance ? `in maintenance${props.reason ? `: ${props.reason}` : ''}` : 'serving'}
        </label>
        {!props.inMaintenance && (
          <input type="text" placeholder="reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="maintenance-reason" />
        )}
      </span>
      <ErrorBox error={error} data-testid="maintenance-error" />
    </div>
  );
}
