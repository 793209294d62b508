// Time on air, outgoing bitrate, picture size and connection state, sampled once a second from
// the publishing peer's getStats().

import { formatNumber, t } from "../i18n.js";

const STATS_INTERVAL_MS = 1000;
const DASH = "–";

const CONNECTION_LABEL = {
  new: "studio.connection.new",
  connecting: "studio.connection.connecting",
  connected: "studio.connection.connected",
  disconnected: "studio.connection.disconnected",
  failed: "studio.connection.failed",
  closed: "studio.connection.closed",
};

const LIMITATION_LABEL = {
  bandwidth: "studio.stats.limited.bandwidth",
  cpu: "studio.stats.limited.cpu",
};

export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const parts = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}

export function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1_000_000) {
    const value = formatNumber(bitsPerSecond / 1_000_000, { maximumFractionDigits: 1 });
    return t("studio.stats.mbps", { value });
  }
  return t("studio.stats.kbps", { value: formatNumber(Math.round(bitsPerSecond / 1000)) });
}

/**
 * The stats list and the on-air clock. `source()` gives `{ pc, reconnecting }`: the peer to
 * sample (null between connections) and whether a reconnection is under way.
 */
export class StatsPanel {
  constructor({ elapsed, bitrate, video, connection, clock }, source) {
    this.cells = { elapsed, bitrate, video, connection };
    this.clock = clock;
    this.source = source;
    this.liveSince = null;
    this.timer = null;
    this.last = null;
  }

  get running() {
    return this.timer !== null;
  }

  /** Count time on air from now and sample every second. */
  start() {
    this.stop();
    this.liveSince = Date.now();
    this.last = null;
    this.timer = setInterval(() => this.sample(), STATS_INTERVAL_MS);
    this.sample();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Off air: stop sampling and show dashes. */
  reset() {
    this.stop();
    this.liveSince = null;
    this.render(null);
  }

  async sample() {
    const { pc, reconnecting } = this.source();
    if (!pc) {
      this.render({ connection: reconnecting ? "connecting" : null });
      return;
    }
    let bytes = 0;
    let video = null;
    try {
      const report = await pc.getStats();
      report.forEach((entry) => {
        if (entry.type !== "outbound-rtp") return;
        bytes += entry.bytesSent || 0;
        if (entry.kind === "video") video = entry;
      });
    } catch {
      return;
    }
    const now = performance.now();
    let bitrate = null;
    if (this.last && this.last.pc === pc && now > this.last.at) {
      bitrate = ((bytes - this.last.bytes) * 8 * 1000) / (now - this.last.at);
    }
    this.last = { pc, bytes, at: now };
    this.render({ connection: pc.connectionState, bitrate, video });
  }

  render(sample) {
    const cells = this.cells;
    const onAir = this.liveSince ? formatDuration(Date.now() - this.liveSince) : null;
    cells.elapsed.textContent = onAir ?? DASH;
    this.clock.textContent = onAir ?? "00:00:00";
    if (!sample) {
      cells.bitrate.textContent = DASH;
      cells.video.textContent = DASH;
      cells.connection.textContent = DASH;
      return;
    }
    cells.connection.textContent = sample.connection
      ? t(CONNECTION_LABEL[sample.connection])
      : DASH;
    if (sample.bitrate !== null && sample.bitrate !== undefined) {
      cells.bitrate.textContent = formatBitrate(Math.max(0, sample.bitrate));
    }
    const video = sample.video;
    if (video?.frameWidth) {
      const frame = t("studio.stats.frame", {
        width: video.frameWidth,
        height: video.frameHeight,
        fps: formatNumber(Math.round(video.framesPerSecond || 0)),
      });
      const limit = LIMITATION_LABEL[video.qualityLimitationReason];
      const note = document.createElement("span");
      note.className = "stats__note";
      note.textContent = limit ? t(limit) : "";
      cells.video.replaceChildren(frame, ...(limit ? [note] : []));
    }
  }
}
