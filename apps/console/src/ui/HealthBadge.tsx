// A device state or node health as coloured text: green when well, amber while recovering, red when failing, grey before any report.
const GREEN = new Set(['ONLINE', 'OK', 'SYNCHRONIZED', 'OPTIMIZED', 'EXPORTED', 'ACTIVE']);
const AMBER = new Set(['DEGRADED', 'RESYNCING', 'RESYNC_TO', 'RESYNC_FROM', 'NON_OPTIMIZED', 'TRANSITIONING', 'MAINTENANCE', 'WARNING', 'NOT_SYNCHRONIZED']);
const RED = new Set(['OFFLINE', 'SPLIT_BRAIN', 'BLOCKED', 'UNREACHABLE', 'FAILING', 'CRITICAL', 'UNAVAILABLE', 'WITHDRAWN']);

export type Tone = 'good' | 'warn' | 'bad' | 'none';

export function toneOf(value: string | null | undefined): Tone {
  if (!value) return 'none';
  if (GREEN.has(value)) return 'good';
  if (AMBER.has(value)) return 'warn';
  if (RED.has(value)) return 'bad';
  return 'none';
}

export function HealthBadge(props: { value: string | null | undefined; 'data-testid'?: string; title?: string }) {
  const value = props.value ?? 'PENDING';
  return (
    <span className={`badge badge-${toneOf(value)}`} data-testid={props['data-testid']} data-value={value} title={props.title}>
      {value}
    </span>
  );
}
