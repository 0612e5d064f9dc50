const SIGN_IN_ROUTE = /^#\/sign-in\/([A-Za-z0-9_-]{1,100})$/;

/**
 * The code of a sign-in link (`#/sign-in/<code>`, printed by `npm run demo`), or null. The address
 * bar and the tab's history are rewritten to `#/runs` at once, so the code is neither left in view
 * nor reachable with Back; the console trades it for the token (once: a second use is refused).
 */
export function takeSignInCode(): string | null {
  const match = SIGN_IN_ROUTE.exec(window.location.hash);
  if (!match) return null;
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/runs`);
  return match[1];
}
