// Studio failures as UI messages: HTTP answers, media-device errors and network trouble each
// map to a catalogue key (plus the server's own detail when it gave one).

import { HttpError } from "../rtc.js";

const HTTP_ERROR = {
  401: "studio.error.unauthorized",
  403: "studio.error.forbidden",
  404: "studio.error.not_found",
  409: "studio.error.conflict",
};

const MEDIA_ERROR = {
  NotAllowedError: "studio.error.permission",
  SecurityError: "studio.error.permission",
  NotFoundError: "studio.error.no_device",
  OverconstrainedError: "studio.error.no_device",
  NotReadableError: "studio.error.device_busy",
  AbortError: "studio.error.device_busy",
};

/** A failure with a UI message of its own (and optionally the server's detail). */
export class StudioError extends Error {
  constructor(messageKey, detail = "") {
    super(messageKey);
    this.name = "StudioError";
    this.messageKey = messageKey;
    this.detail = detail;
  }
}

/** The error that says why publishing is impossible in this browser or on this origin. */
export function unsupportedError() {
  return new StudioError(window.isSecureContext ? "studio.error.unsupported" : "studio.error.insecure");
}

/** Any thrown value as a StudioError. */
export function studioError(error) {
  if (error instanceof StudioError) return error;
  if (error instanceof HttpError) {
    return new StudioError(HTTP_ERROR[error.status] ?? "studio.error.server", error.detail);
  }
  if (error && MEDIA_ERROR[error.name]) return new StudioError(MEDIA_ERROR[error.name]);
  if (error instanceof TypeError || error?.name === "TimeoutError") {
    return new StudioError("studio.error.network");
  }
  return new StudioError("studio.error.server");
}
