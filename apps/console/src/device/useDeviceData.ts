/**
 * React hook behind the device page: the device now (refetched, debounced, on each `deviceChanged` message) or as
 * of an earlier position (time travel: no subscription, no refetch), the alerts it needs, and its event timeline.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { gql, subscribe } from '../api/client';
import {
  ALERTS_QUERY,
  DEVICE_CHANGED,
  DEVICE_QUERY,
  EVENTS_PAGE_SIZE,
  EVENTS_QUERY,
  type AlertsAnswer,
  type DeviceAlertView,
  type DeviceChangedMessage,
  type DeviceView,
  type EventsPage,
  type EventView,
  type NodeAlertView,
} from './deviceQueries';
import { agentStreamId, deviceStreamId, entriesOfAlert, entryOfEvent, isAboutDevice, mergeTimeline, type TimelineEntry } from './timeline';

/** Pages read per stream at a time (500 events each); the rest is read by the next read (a catch-up, going back to live). */
const MAX_PAGES_PER_STREAM = 10;
const REFETCH_DEBOUNCE_MS = 300;
/** Reads after subscribing, for events committed before the subscription was in place. */
const CATCH_UP_MS = [1_000, 5_000];

export interface DeviceData {
  /** undefined while the first answer is awaited; null when the device does not exist (at that position). */
  device: DeviceView | null | undefined;
  nodeAlerts: NodeAlertView[];
  /** Every alert about the device, raised and cleared (what was active at a position follows from their positions). */
  deviceAlerts: DeviceAlertView[];
  error: Error | undefined;
  timeline: TimelineEntry[];
  timelineError: Error | undefined;
  /** Still reading: some stream had more events than one read takes (the timeline goes on reading). */
  timelineTruncated: boolean;
  /** `deviceChanged` messages received since the page opened. */
  updates: number;
  refetch: () => void;
}

/** Reads a stream forward from `after` (a cursor); stops after MAX_PAGES_PER_STREAM pages and says where, so the next read goes on from there. */
async function readStream(streamId: string, after: string | null): Promise<{ events: EventView[]; endCursor: string | null; more: boolean }> {
  const events: EventView[] = [];
  let cursor = after;
  for (let page = 0; page < MAX_PAGES_PER_STREAM; page++) {
    const answer: EventsPage = await gql<EventsPage>(EVENTS_QUERY, { streamId, after: cursor, first: EVENTS_PAGE_SIZE });
    events.push(...answer.events.edges.map((e) => e.node));
    cursor = answer.events.pageInfo.endCursor ?? cursor;
    if (!answer.events.pageInfo.hasNextPage) return { events, endCursor: cursor, more: false };
  }
  return { events, endCursor: cursor, more: true };
}

export function useDeviceData(id: string, atPosition: number | null): DeviceData {
  const [device, setDevice] = useState<DeviceView | null | undefined>(undefined);
  const [nodeAlerts, setNodeAlerts] = useState<NodeAlertView[]>([]);
  const [deviceAlerts, setDeviceAlerts] = useState<DeviceAlertView[]>([]);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [timelineError, setTimelineError] = useState<Error | undefined>(undefined);
  const [timelineTruncated, setTimelineTruncated] = useState(false);
  const [updates, setUpdates] = useState(0);
  const [timelineEpoch, setTimelineEpoch] = useState(0);
  const generation = useRef(0);
  const names = useRef(new Map<string, string>());
  /** Per stream, the cursor the timeline has read up to: later reads only fetch what came after it. */
  const cursors = useRef(new Map<string, string | null>());
  const live = atPosition === null;

  const nodeName = useCallback((nodeId: string) => names.current.get(nodeId) ?? nodeId.slice(0, 8), []);

  const load = useCallback(() => {
    const mine = ++generation.current;
    const deviceAnswer = gql<{ device: DeviceView | null }>(DEVICE_QUERY, { id, at: atPosition });
    const alertsAnswer = gql<AlertsAnswer>(ALERTS_QUERY, { id });
    Promise.all([deviceAnswer, alertsAnswer]).then(
      ([d, a]) => {
        if (mine !== generation.current) return;
        for (const r of d.device?.replicas ?? []) if (r.node) names.current.set(r.nodeId, r.node.name);
        setDevice(d.device);
        setNodeAlerts(a.nodeAlerts.edges.map((e) => e.node));
        setDeviceAlerts(a.deviceAlerts.edges.map((e) => e.node));
        setTimeline((t) => mergeTimeline(t, a.deviceAlerts.edges.flatMap((e) => entriesOfAlert(e.node))));
        setError(undefined);
      },
      (e: Error) => {
        if (mine === generation.current) setError(e);
      },
    );
  }, [id, atPosition]);

  useEffect(() => {
    setDevice(undefined);
    load();
  }, [load]);

  // The replicas' nodes, once known, name the agent streams that hold their reports about this device.
  const nodeIds = useMemo(() => (device ? [...new Set(device.replicas.map((r) => r.nodeId))].sort().join(',') : null), [device]);
  const [timelineNodes, setTimelineNodes] = useState<string | null>(null);
  useEffect(() => {
    if (live && nodeIds !== null && nodeIds !== timelineNodes) setTimelineNodes(nodeIds);
  }, [live, nodeIds, timelineNodes]);

  // Read the timeline when the page opens, at each catch-up, and on returning to live (to catch what was missed).
  useEffect(() => {
    if (!live || timelineNodes === null) return;
    let cancelled = false;
    const streams = [deviceStreamId(id), ...timelineNodes.split(',').filter((n) => n).map(agentStreamId)];
    Promise.all(streams.map((streamId) => readStream(streamId, cursors.current.get(streamId) ?? null))).then(
      (results) => {
        if (cancelled) return;
        results.forEach((r, i) => cursors.current.set(streams[i], r.endCursor));
        const events = results.flatMap((r) => r.events).filter((e) => isAboutDevice(e, id));
        setTimeline((t) => mergeTimeline(t, events.map((e) => entryOfEvent(e, nodeName))));
        const more = results.some((r) => r.more);
        setTimelineTruncated(more);
        // Go on reading from the cursors until every stream is read to its end.
        if (more) setTimelineEpoch((n) => n + 1);
        setTimelineError(undefined);
      },
      (e: Error) => {
        if (!cancelled) setTimelineError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [id, live, timelineNodes, nodeName, timelineEpoch]);

  // Live: each message adds its event to the timeline and refetches the device (debounced).
  useEffect(() => {
    if (!live) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = subscribe<DeviceChangedMessage>(
      DEVICE_CHANGED,
      { id },
      (message) => {
        setUpdates((n) => n + 1);
        setTimeline((t) => mergeTimeline(t, [entryOfEvent(message.deviceChanged.event, nodeName)]));
        if (timer) clearTimeout(timer);
        timer = setTimeout(load, REFETCH_DEBOUNCE_MS);
      },
      (e) => setError(e),
    );
    // graphql-ws does not say when the gateway's consumer is in place: an event between the first query and then
    // would be missed (a new device left PENDING). Two catch-up reads cover that window.
    const catchUps = CATCH_UP_MS.map((ms) =>
      setTimeout(() => {
        load();
        setTimelineEpoch((n) => n + 1);
      }, ms),
    );
    return () => {
      if (timer) clearTimeout(timer);
      for (const t of catchUps) clearTimeout(t);
      stop();
    };
  }, [id, live, load, nodeName]);

  return { device, nodeAlerts, deviceAlerts, error, timeline, timelineError, timelineTruncated, updates, refetch: load };
}
