// What a receiving peer's getStats() says about the media: is it flowing, and how late.

/**
 * Counters that show media is flowing (decoded and received video frames, audio packets), and
 * how far behind live the picture is: half the round trip plus the jitter buffer's delay.
 */
export async function mediaCounters(pc) {
  const counters = { decoded: null, received: 0, audio: 0, delayMs: null };
  const report = await pc.getStats();
  let bufferMs = null;
  let halfRttMs = 0;
  report.forEach((stats) => {
    if (stats.type === "candidate-pair" && stats.nominated && stats.currentRoundTripTime) {
      halfRttMs = (stats.currentRoundTripTime * 1000) / 2;
    }
    if (stats.type !== "inbound-rtp") return;
    if (stats.kind === "video") {
      counters.decoded = (counters.decoded ?? 0) + (stats.framesDecoded || 0);
      counters.received += stats.framesReceived || 0;
      if (stats.jitterBufferEmittedCount > 0) {
        bufferMs = (stats.jitterBufferDelay / stats.jitterBufferEmittedCount) * 1000;
      }
    } else if (stats.kind === "audio") {
      counters.audio += stats.packetsReceived || 0;
    }
  });
  if (bufferMs !== null) counters.delayMs = Math.round(bufferMs + halfRttMs);
  return counters;
}
