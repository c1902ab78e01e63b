// React hook: run a query, and run it again (debounced) whenever one of the given subscriptions delivers a message.
import { useCallback, useEffect, useRef, useState } from 'react';
import { gql, NotAuthenticated, subscribe } from './client';

export interface LiveSubscription {
  query: string;
  variables?: Record<string, unknown>;
}

export interface LiveQueryState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /** Messages received over the subscriptions so far (a test or the page can show the view is live). */
  updates: number;
  refetch: () => void;
}

export function useLiveQuery<T>(
  query: string,
  variables: Record<string, unknown> | undefined,
  subscriptions: LiveSubscription[] = [],
  debounceMs = 300,
): LiveQueryState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [updates, setUpdates] = useState(0);
  const variablesKey = JSON.stringify(variables ?? {});
  const subscriptionsKey = JSON.stringify(subscriptions);
  const generation = useRef(0);

  const run = useCallback(() => {
    const mine = ++generation.current;
    gql<T>(query, JSON.parse(variablesKey) as Record<string, unknown>).then(
      (result) => {
        if (mine !== generation.current) return;
        setData(result);
        setError(undefined);
        setLoading(false);
      },
      (e: Error) => {
        if (mine !== generation.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, [query, variablesKey]);

  useEffect(() => {
    setLoading(true);
    run();
  }, [run]);

  useEffect(() => {
    const wanted = JSON.parse(subscriptionsKey) as LiveSubscription[];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onMessage = () => {
      setUpdates((n) => n + 1);
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, debounceMs);
    };
    const onError = (e: Error) => {
      if (e instanceof NotAuthenticated) setError(e);
    };
    const stops = wanted.map((s) => subscribe<unknown>(s.query, s.variables, onMessage, onError));
    return () => {
      if (timer) clearTimeout(timer);
      for (const stop of stops) stop();
    };
  }, [subscriptionsKey, run, debounceMs]);

  return { data, error, loading, updates, refetch: run };
}
