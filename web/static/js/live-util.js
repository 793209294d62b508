// Small helpers shared by the scripts that speak to the session socket (/ws/{session}).

/** localStorage or sessionStorage, or null where the browser forbids storage. */
export function storage(kind) {
  try {
    return kind === "local" ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
}

/** A client message id: retries of one message carry the same id and are stored once. */
export function newCid() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Order of two log ids ("ms-seq"). */
export function compareIds(a, b) {
  const [am, as] = String(a).split("-").map(Number);
  const [bm, bs] = String(b).split("-").map(Number);
  return am - bm || as - bs;
}
