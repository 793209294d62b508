// A session's status (`/api/sessions/{id}/status`: live or not, viewers), read by the player and
// the programme.

const STATUS_TIMEOUT_MS = 5000;

export const statusUrl = (sessionId) => `/api/sessions/${encodeURIComponent(sessionId)}/status`;

/** The status at `url`, or null when it could not be read (the caller just tries again later). */
export async function fetchStatus(url) {
  try {
    const response = await fetch(url, {
      cache: "no-store",
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}
