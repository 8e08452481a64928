import { useMemo, useState } from 'react';
import { ClientsContext } from './lib/clients-context.js';
import { clientsFor, loadSession, saveSession, type Session } from './lib/session.js';
import { ROUTES, useRoute } from './lib/router.js';
import { useTheme } from './lib/theme.js';
import { SignIn } from './pages/SignIn.js';
import { Dashboard } from './pages/Dashboard.js';
import { EventHistory } from './pages/EventHistory.js';
import { Trails } from './pages/Trails.js';
import { Lake } from './pages/Lake.js';
import { Rules } from './pages/Rules.js';

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
          {route === 'dashboard' && <Dashboard />}
          {route === 'events' && <EventHistory />}
          {route === 'trails' && <Trails />}
          {route === 'lake' && <Lake />}
          {route === 'rules' && <Rules />}
        </main>
      </div>
    </ClientsContext.Provider>
  );
}
