import { errorText } from './session.js';

/**
 * A page action: clear the error, run the call, then refresh the page's data; an AWS error is shown
 * instead. `refresh` runs only when the call succeeded.
 */
export function actThenRefresh(setError: (e: string | undefined) => void, refresh: () => Promise<unknown>) {
  return async (fn: () => Promise<unknown>): Promise<boolean> => {
    setError(undefined);
    try {
      await fn();
      await refresh();
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    }
  };
}
