/** Hash routes (#/events, #/lake …): the server serves one page, the browser keeps the place. */
import { useEffect, useState } from 'react';

export type Route = 'dashboard' | 'events' | 'trails' | 'lake' | 'rules';
export const ROUTES: { id: Route; label: string }[] = [
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'events', label: 'Event history' },
  { id: 'trails', label: 'Trails' },
  { id: 'lake', label: 'Lake' },
  { id: 'rules', label: 'Rules' },
];

function current(): Route {
  const id = window.location.hash.replace(/^#\/?/, '').split('?')[0];
  return (ROUTES.find((r) => r.id === id)?.id ?? 'dashboard') as Route;
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(current);
  useEffect(() => {
    const on = (): void => setRoute(current());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
