// The resync progress bar: percent done over every running resync, with rate and ETA, and one line per resync.
import { formatBytes, formatDuration } from '../ui/format';
import { summarizeResyncs } from './deviceFacts';
import type { ResyncView } from './deviceQueries';

export function ResyncProgress(props: { resyncs: ResyncView[]; nodeName: (id: string) => string }) {
  const summary = summarizeResyncs(props.resyncs);
  const percent = summary?.percent ?? 0;
  return (
    <div className="resync">
      <label>
        Resync{' '}
        <progress data-testid="resync-progress" max={100} value={percent} aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100} aria-label="resync progress">
          {percent} %
        </progress>{' '}
        <strong data-testid="resync-percent">{percent} %</strong>
      </label>
      {summary ? (
        <span className="muted" data-testid="resync-rate">
          {' '}
          {formatBytes(summary.doneBytes)} of {formatBytes(summary.totalBytes)} · {summary.bytesPerSecond !== null ? `${formatBytes(summary.bytesPerSecond)}/s` : 'rate not measured yet'} ·{' '}
          {summary.etaSeconds !== null ? `ETA ${formatDuration(summary.etaSeconds)}` : 'ETA unknown yet'}
        </span>
      ) : (
        <span className="muted" data-testid="resync-rate"> waiting for the first progress report</span>
      )}
      {props.resyncs.length > 0 && (
        <ul className="muted">
          {props.resyncs.map((r) => (
            <li key={`${r.sourceNodeId}-${r.targetNodeId}`}>
              {r.kind} {props.nodeName(r.sourceNodeId)} → {props.nodeName(r.targetNodeId)}: {formatBytes(r.doneBytes)} of {formatBytes(r.totalBytes)}
              {r.bytesPerSecond !== null ? `, ${formatBytes(r.bytesPerSecond)}/s` : ''}
              {r.etaSeconds !== null ? `, ETA ${formatDuration(r.etaSeconds)}` : ''}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
