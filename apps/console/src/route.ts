// Hash routes of the console (`#/fleet`, `#/node/<id>`, …): parsed from location.hash and followed as it changes.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'login' }
  | { page: 'fleet' }
  | { page: 'node'; id: string }
  | { page: 'device'; id: string }
  | { page: 'create' }
  | { page: 'unknown'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/fleet') return { page: 'fleet' };
  if (path === '/login') return { page: 'login' };
  if (path === '/create') return { page: 'create' };
  const match = /^\/(node|device)\/([^/]+)$/.exec(path);
  if (match) return { page: match[1] as 'node' | 'device', id: decodeURIComponent(match[2]) };
  return { page: 'unknown', path };
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
