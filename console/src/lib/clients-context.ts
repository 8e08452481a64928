import { createContext, useContext } from 'react';
import type { Clients } from './session.js';

export const ClientsContext = createContext<Clients | undefined>(undefined);

export function useClients(): Clients {
  const c = useContext(ClientsContext);
  if (!c) throw new Error('not signed in');
  return c;
}
