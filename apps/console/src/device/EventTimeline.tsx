// The device's event timeline, newest first; picking an entry time-travels the page to that position.
import { useState } from 'react';
import type { TimelineEntry } from './timeline';

const PAGE = 100;

export function EventTimeline(props: {
  entries: TimelineEntry[];
  selected: number | null;
  onPick: (position: number) => void;
  error: Error | undefined;
  truncated: boolean;
}) {
  const [shown, setShown] = useState(PAGE);
  return (
    <div className="card">
      <h3>Event timeline</h3>
      <p className="muted">Newest first. Pick an event to see the device as it was right after it.</p>
      {props.error && <div className="error">timeline: {props.error.message}</div>}
      <ol data-testid="timeline" className="timeline" style={{ listStyle: 'none', paddingLeft: 0 }}>
        {props.entries.slice(0, shown).map((e) => (
          <li key={e.position}>
            <button
              type="button"
              data-testid="timeline-event"
              data-position={e.position}
              data-type={e.type}
              aria-pressed={props.selected === e.position}
              onClick={() => props.onPick(e.position)}
              style={{
                width: '100%',
                textAlign: 'left',
                background: props.selected === e.position ? '#e3ecfb' : 'transparent',
                border: 'none',
                borderBottom: '1px solid #eceff4',
                padding: '0.3rem 0.4rem',
                cursor: 'pointer',
              }}
            >
              <span className="muted">#{e.position}</span> <strong data-testid="timeline-event-type">{e.type}</strong>{' '}
              <span className="muted">{new Date(e.recordedAt).toLocaleString()}</span>
              {e.text && <div>{e.text}</div>}
            </button>
          </li>
        ))}
      </ol>
      {props.entries.length > shown && (
        <button type="button" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, props.entries.length - shown)} older events
        </button>
      )}
      {props.truncated && <p className="muted">Still reading the log: newer events are on their way.</p>}
    </div>
  );
}
