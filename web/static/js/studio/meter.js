// The microphone level meter: an AnalyserNode's RMS drawn every frame, announced to assistive
// technology at a calmer pace.

const METER_ARIA_INTERVAL_MS = 500;

export class LevelMeter {
  constructor(bar, fill) {
    this.bar = bar;
    this.fill = fill;
    this.context = null;
    this.analyser = null;
    this.source = null;
    this.running = false;
    this.ariaAt = 0;
    this.samples = new Float32Array(1024);
    this.draw = this.draw.bind(this);
    // An AudioContext made before any click starts suspended.
    document.addEventListener("pointerdown", () => this.context?.resume().catch(() => {}), {
      once: true,
    });
  }

  /** Measure `track` (a microphone track) from now on. */
  start(track) {
    if (!track || typeof AudioContext !== "function") return;
    try {
      this.context ??= new AudioContext();
      this.analyser ??= this.context.createAnalyser();
      this.analyser.fftSize = 1024;
      this.source?.disconnect();
      this.source = this.context.createMediaStreamSource(new MediaStream([track]));
      this.source.connect(this.analyser);
      if (this.context.state === "suspended") this.context.resume().catch(() => {});
    } catch {
      return; // no meter is better than no studio
    }
    if (!this.running) {
      this.running = true;
      requestAnimationFrame(this.draw);
    }
  }

  draw(now) {
    const samples = this.samples;
    this.analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    const level = Math.min(1, Math.max(0, (20 * Math.log10(rms || 1e-8) + 60) / 60));
    this.fill.style.transform = `scaleX(${level.toFixed(3)})`; // CSSOM: allowed under CSP
    if (now - this.ariaAt > METER_ARIA_INTERVAL_MS) {
      this.ariaAt = now;
      this.bar.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    }
    requestAnimationFrame(this.draw);
  }
}
