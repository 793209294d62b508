// The studio: publish the browser's camera and microphone to a session over WHIP.
//
// The publish key only ever travels in the Authorization header of WHIP requests. It is never
// put in a URL, never logged, and kept in sessionStorage (this tab only) if the arranger asks.
//
// This entry module wires the parts in ./studio/: the controls (view.js), camera and microphone
// (devices.js, meter.js), the WHIP session and its lifecycle (whip.js, broadcast.js) and the
// statistics (stats.js).

import { AudiencePanel } from "./studio/audience.js";
import { Broadcast } from "./studio/broadcast.js";
import { Devices } from "./studio/devices.js";
import { unsupportedError } from "./studio/errors.js";
import { LevelMeter } from "./studio/meter.js";
import { StatsPanel } from "./studio/stats.js";
import { StudioView, isBroadcasting } from "./studio/view.js";

const byId = (id) => document.getElementById(id);

function initStudio(root) {
  const view = new StudioView(root);
  const meter = new LevelMeter(byId("studio-meter-bar"), byId("studio-meter-fill"));
  const devices = new Devices(
    {
      preview: byId("studio-preview"),
      placeholder: byId("studio-placeholder"),
      cameraSelect: byId("studio-camera"),
      micSelect: byId("studio-microphone"),
      resolutionSelect: byId("studio-resolution"),
    },
    {
      onAudio: () => meter.start(devices.audioTrack()),
      onTrack: (kind, track) => broadcast.session?.replaceTrack(kind, track),
      onMaxBitrate: (maxBitrate) => broadcast.session?.setMaxBitrate(maxBitrate),
      onError: (error) => view.showError(error),
    },
  );
  const broadcast = new Broadcast(root.dataset.endpoint, devices, {
    onState: (state) => {
      view.showState(state);
      if (!isBroadcasting(state)) stats.reset();
      else if (state === "live" && !stats.running) stats.start();
    },
    onError: (error) => view.showError(error),
  });
  const stats = new StatsPanel(
    {
      elapsed: byId("stat-elapsed"),
      bitrate: byId("stat-bitrate"),
      video: byId("stat-video"),
      connection: byId("stat-connection"),
      clock: byId("studio-onair-clock"),
    },
    () => ({ pc: broadcast.session?.pc, reconnecting: broadcast.state === "reconnecting" }),
  );

  view.cameraOnButton.addEventListener("click", async () => {
    view.clearError();
    try {
      await devices.start();
    } catch (error) {
      view.showError(error);
    }
  });

  byId("studio-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (broadcast.state !== "idle" && broadcast.state !== "error") return;
    const key = view.key();
    if (!key) return;
    view.clearError();
    view.rememberKey(key);
    broadcast.goLive(key);
  });
  view.stopButton.addEventListener("click", () => {
    broadcast.stop();
    view.goLiveButton.focus();
  });

  window.addEventListener("beforeunload", (event) => {
    const state = broadcast.state;
    if (state === "live" || state === "reconnecting" || state === "connecting") {
      event.preventDefault(); // ask before ending a broadcast by closing the tab
      event.returnValue = "";
    }
  });
  window.addEventListener("pagehide", () => {
    broadcast.stop();
    devices.stop();
  });

  broadcast.setState("idle");
  if (typeof RTCPeerConnection !== "function" || !navigator.mediaDevices?.getUserMedia) {
    view.disable(unsupportedError());
    return;
  }
  // With permission already given, show the preview straight away; otherwise wait for a click.
  Promise.all(
    ["camera", "microphone"].map((name) =>
      navigator.permissions?.query({ name }).then(
        (result) => result.state,
        () => "unknown",
      ),
    ),
  ).then((states) => {
    if (states.every((permission) => permission === "granted") && !devices.stream) {
      devices.start().catch(() => {});
    }
  });
}

const root = document.getElementById("studio");
if (root) {
  const audience = document.getElementById("studio-audience");
  if (audience) new AudiencePanel(audience, root.dataset.session);
  initStudio(root);
}
