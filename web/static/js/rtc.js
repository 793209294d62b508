// WHIP/WHEP over fetch, shared by the player (WHEP) and the studio (WHIP).
//
// The server puts all of its ICE candidates in its answer, so a client only has to wait for its
// own gathering to finish (or a short timeout) and POST the offer: no trickle needed.

export const ICE_GATHERING_TIMEOUT_MS = 2000;
export const HTTP_TIMEOUT_MS = 15000;

/** An HTTP answer other than the one expected, with the problem+json `detail` if there was one. */
export class HttpError extends Error {
  constructor(status, detail, retryAfter) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ""}`);
    this.name = "HttpError";
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** Resolve once ICE gathering is complete, or after `timeoutMs` with what was gathered. */
export function waitForIceGathering(pc, timeoutMs = ICE_GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", changed);
      resolve();
    };
    const changed = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", changed);
  });
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), clamped. */
export function retryAfterSeconds(value, fallback, { min = 1, max = 30 } = {}) {
  let seconds = fallback;
  if (value) {
    const number = Number(value);
    if (Number.isFinite(number)) {
      seconds = number;
    } else {
      const date = Date.parse(value);
      if (!Number.isNaN(date)) seconds = (date - Date.now()) / 1000;
    }
  }
  return Math.min(max, Math.max(min, seconds));
}

/** Exponential backoff with ±20 % jitter: 1 s, 2 s, 4 s … capped at `maxMs`. */
export function backoffMs(attempt, { baseMs = 1000, maxMs = 15000 } = {}) {
  const delay = Math.min(maxMs, baseMs * 2 ** attempt);
  return delay * (0.8 + Math.random() * 0.4);
}

/** Sleep `ms`, or less if `signal` aborts (resolves either way; callers check the signal). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function withTimeout(signal, ms) {
  const timeout = AbortSignal.timeout(ms);
  if (!signal) return timeout;
  if (typeof AbortSignal.any === "function") return AbortSignal.any([signal, timeout]);
  return signal;
}

async function problemDetail(response) {
  const type = response.headers.get("Content-Type") || "";
  try {
    if (type.includes("json")) {
      const body = await response.json();
      return typeof body.detail === "string" ? body.detail : "";
    }
    return (await response.text()).slice(0, 200);
  } catch {
    return "";
  }
}

/**
 * POST an SDP offer to a WHIP/WHEP endpoint. Returns `{answer, resource}` (the resource URL is
 * absolute) on 201; throws `HttpError` for any other status, a TypeError/AbortError on network
 * failure.
 */
export async function postOffer(endpoint, offerSdp, { headers = {}, signal } = {}) {
  const url = new URL(endpoint, document.baseURI);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: offerSdp,
    cache: "no-store",
    signal: withTimeout(signal, HTTP_TIMEOUT_MS),
  });
  if (response.status !== 201) {
    const detail = await problemDetail(response);
    throw new HttpError(response.status, detail, response.headers.get("Retry-After"));
  }
  const location = response.headers.get("Location");
  const answer = await response.text();
  if (!location) throw new HttpError(response.status, "answer without a Location header");
  // After a 307 to another node (WHEP allows it) the Location is relative to that node.
  return { answer, resource: new URL(location, response.url || url).href };
}

/**
 * DELETE a WHIP/WHEP resource, best effort. `keepalive` lets it outlive the page (unload);
 * sendBeacon cannot send DELETE.
 */
export function deleteResource(resource, headers = {}) {
  if (!resource) return Promise.resolve();
  return fetch(resource, { method: "DELETE", headers, keepalive: true, cache: "no-store" }).then(
    () => undefined,
    () => undefined,
  );
}

/** Close a peer connection, ignoring the errors some browsers raise on a half-built one. */
export function closePeer(pc) {
  if (!pc) return;
  try {
    pc.close();
  } catch {
    // already closed
  }
}
