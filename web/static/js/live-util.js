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

/** Where a viewer's signed chat identity and a moderator's token for a session are kept. */
export const TOKEN_KEY = "stream.chat.token";
export const moderatorTokenKey = (session) => `stream.chat.moderator.${session}`;

/**
 * Open the session's socket and greet it: the stored identity, the moderator token when
 * `moderator` is set, plus whatever `extra()` adds when the socket opens (e.g. the last id).
 */
export function openSessionSocket(session, { moderator = true, extra = () => ({}) } = {}) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/${session}`);
  socket.addEventListener("open", () => {
    const hello = { type: "hello" };
    const token = storage("local")?.getItem(TOKEN_KEY);
    if (token) hello.token = token;
    if (moderator) {
      const moderatorToken = storage("session")?.getItem(moderatorTokenKey(session));
      if (moderatorToken) hello.moderator_token = moderatorToken;
    }
    socket.send(JSON.stringify({ ...hello, ...extra() }));
  });
  return socket;
}
