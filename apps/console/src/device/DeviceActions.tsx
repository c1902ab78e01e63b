// The device's resize (binary sizes) and delete (typed confirmation of the name) actions; each shows the mutation's typed errors.
import { useState, type FormEvent } from 'react';
import { navigate } from '../route';
import { DELETE_DEVICE, RESIZE_DEVICE, type DeviceView } from './deviceQueries';
import { runMutation } from './runMutation';
import { parseSize } from './sizeUnits';

type Open = 'resize' | 'delete' | null;

export function DeviceActions(props: { device: DeviceView; disabled: boolean; onChanged: () => void }) {
  const { device } = props;
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [size, setSize] = useState('');
  const [confirmName, setConfirmName] = useState('');

  const toggle = (which: Open) => {
    setOpen((current) => (current === which ? null : which));
    setError(null);
  };

  const submitResize = async (e: FormEvent) => {
    e.preventDefault();
    let sizeBytes: number;
    try {
      sizeBytes = parseSize(size);
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    setBusy(true);
    const failure = await runMutation(RESIZE_DEVICE, 'resizeDevice', { deviceId: device.id, sizeBytes });
    setBusy(false);
    setError(failure);
    if (failure === null) {
      setOpen(null);
      setSize('');
      props.onChanged();
    }
  };

  const submitDelete = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const failure = await runMutation(DELETE_DEVICE, 'deleteDevice', { deviceId: device.id });
    setBusy(false);
    setError(failure);
    if (failure === null) navigate('/fleet');
  };

  const disabled = props.disabled || busy;
  return (
    <div className="card" data-testid="device-actions">
      <h3>Actions</h3>
      {props.disabled && <p className="muted">Actions are disabled while you look at the past: go back to live first.</p>}
      <div className="row">
        <button type="button" data-testid="resize-open" disabled={props.disabled} onClick={() => toggle('resize')}>
          Resize…
        </button>
        <button type="button" data-testid="delete-open" disabled={props.disabled} onClick={() => toggle('delete')}>
          Delete…
        </button>
      </div>
      {open === 'resize' && (
        <form onSubmit={submitResize} data-testid="resize-form">
          <p>
            Grow the device (now {device.sizeBytes} bytes). Sizes in binary units: <code>2GiB</code>, <code>512MiB</code>, <code>10G</code>, or bytes.
          </p>
          <div className="row">
            <input type="text" data-testid="resize-size" aria-label="new size" placeholder="e.g. 2GiB" value={size} onChange={(e) => setSize(e.target.value)} />
            <button type="submit" className="primary" data-testid="resize-submit" disabled={disabled || size.trim() === ''}>
              Resize
            </button>
          </div>
        </form>
      )}
      {open === 'delete' && (
        <form onSubmit={submitDelete} data-testid="delete-form">
          <p>
            Deleting <strong>{device.name}</strong> withdraws it from every node and destroys its data. Type its name to confirm.
          </p>
          <div className="row">
            <input type="text" data-testid="delete-confirm-name" aria-label="device name" value={confirmName} onChange={(e) => setConfirmName(e.target.value)} />
            <button type="submit" className="primary" data-testid="delete-submit" disabled={disabled || confirmName !== device.name}>
              Delete
            </button>
          </div>
        </form>
      )}
      {open !== null && error && (
        <div className="error" role="alert" data-testid="action-error" style={{ whiteSpace: 'pre-wrap' }}>
          {error}
        </div>
      )}
    </div>
  );
}
