import { Suspense, lazy, useMemo, useState } from 'react';
import { ClientsContext } from './lib/clients-context.js';
import { clientsFor, loadSession, saveSession, type Session } from './lib/session.js';
import { ROUTES, useRoute } from './lib/router.js';
import { useTheme } from './lib/theme.js';
import { SignIn } from './pages/SignIn.js';

import { Dashboard } from './pages/Dashboard.js';
import { EventHistory } from './pages/EventHistory.js';

// The other pages load with their own code (the SQL editor, the S3 and EventBridge clients). The
// dashboard and event history are in the first bundle: a lazy page waits for React's Suspense
// reveal throttle (300 ms) before its first request.
const Trails = lazy(() => import('./pages/Trails.js').then((m) => ({ default: m.Trails })));
const Lake = lazy(() => import('./pages/Lake.js').then((m) => ({ default: m.Lake })));
const Rules = lazy(() => import('./pages/Rules.js').then((m) => ({ default: m.Rules })));

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [theme, setTheme] = useTheme();
  const route = useRoute();
  const clients = useMemo(() => (session ? clientsFor(session) : undefined), [session]);

  const themeButton = (
    <button type="button" className="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  );

  if (!clients) {
    return (
      <div className="signin-wrap">
        <div className="signin-theme">{themeButton}</div>
        <SignIn
          onSignedIn={(s) => {
            saveSession(s);
            setSession(s);
          }}
        />
      </div>
    );
  }

  return (
    <ClientsContext.Provider value={clients}>
      <div className="shell">
        <header className="topbar">
          <a className="brand" href="#/dashboard">
            opentrail
          </a>
          <nav aria-label="Main">
            <ul>
              {ROUTES.map((r) => (
                <li key={r.id}>
                  <a href={`#/${r.id}`} aria-current={route === r.id ? 'page' : undefined}>
                    {r.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div className="topbar-right">
            <span className="who" title="Access key and region of this session">
              {clients.session.accessKeyId} · {clients.session.region}
            </span>
            {themeButton}
            <button
              type="button"
              className="ghost"
              onClick={() => {
                saveSession(undefined);
                setSession(undefined);
              }}
            >
              Sign out
            </button>
          </div>
        </header>
        <main id="main">
          <Suspense fallback={<p className="muted">Loading…</p>}>
            {route === 'dashboard' && <Dashboard />}
            {route === 'events' && <EventHistory />}
            {route === 'trails' && <Trails />}
            {route === 'lake' && <Lake />}
            {route === 'rules' && <Rules />}
          </Suspense>
        </main>
      </div>
    </ClientsContext.Provider>
  );
}
