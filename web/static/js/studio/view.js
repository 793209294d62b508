// The studio's controls: the state line, the buttons, the error box and the publish-key field.
//
// The key is kept in sessionStorage (this tab only) if the arranger asks, and nowhere else.

import { t } from "../i18n.js";
import { studioError } from "./errors.js";

const STATE_LABEL = {
  idle: "studio.state.idle",
  starting: "studio.state.starting",
  connecting: "studio.state.connecting",
  live: "studio.state.live",
  reconnecting: "studio.state.reconnecting",
  error: "studio.state.error",
};

/** Whether `state` means a broadcast is on its way, on air or coming back. */
export const isBroadcasting = (state) =>
  state === "starting" || state === "connecting" || state === "live" || state === "reconnecting";

const byId = (id) => document.getElementById(id);

export class StudioView {
  constructor(root) {
    this.root = root;
    this.keyInput = byId("studio-key");
    this.keyToggle = byId("studio-key-toggle");
    this.keyError = byId("studio-key-error");
    this.remember = byId("studio-remember");
    this.onAir = byId("studio-onair");
    this.stateLabel = byId("studio-state-label");
    this.errorBox = byId("studio-error");
    this.errorMessage = byId("studio-error-message");
    this.errorDetail = byId("studio-error-detail");
    this.goLiveButton = byId("studio-go-live");
    this.stopButton = byId("studio-stop");
    this.cameraOnButton = byId("studio-camera-on");
    this.storageKey = `stream.studio.key.${root.dataset.session}`;
    byId("studio-whip-url").textContent = new URL(root.dataset.endpoint, document.baseURI).href;
    this.initKey();
  }

  showState(state) {
    this.root.dataset.state = state;
    this.stateLabel.textContent = t(STATE_LABEL[state]);
    const broadcasting = isBroadcasting(state);
    this.goLiveButton.disabled = broadcasting;
    this.stopButton.disabled = !broadcasting || state === "starting";
    this.keyInput.readOnly = broadcasting;
    this.onAir.hidden = !(state === "live" || state === "reconnecting");
  }

  showError(error) {
    const failure = studioError(error);
    this.errorMessage.textContent = t(failure.messageKey);
    this.errorDetail.textContent = failure.detail
      ? t("studio.error.detail", { detail: failure.detail })
      : "";
    this.errorDetail.hidden = !failure.detail;
    this.errorBox.hidden = false;
  }

  clearError() {
    this.errorBox.hidden = true;
    this.errorMessage.textContent = "";
    this.errorDetail.textContent = "";
  }

  /** Publishing cannot work here: say why and switch the buttons off. */
  disable(error) {
    this.showError(error);
    this.goLiveButton.disabled = true;
    this.cameraOnButton.disabled = true;
  }

  // -- the key -----------------------------------------------------------------------------

  /** The key typed in, or null (and the field marked and focused) when there is none. */
  key() {
    const key = this.keyInput.value.trim();
    if (key) return key;
    this.keyInput.setAttribute("aria-invalid", "true");
    this.keyError.hidden = false;
    this.keyInput.focus();
    return null;
  }

  rememberKey(key) {
    try {
      if (this.remember.checked && key) sessionStorage.setItem(this.storageKey, key);
      else sessionStorage.removeItem(this.storageKey);
    } catch {
      // storage disabled: nothing remembered
    }
  }

  initKey() {
    const { keyInput, keyToggle, remember } = this;
    try {
      const stored = sessionStorage.getItem(this.storageKey);
      if (stored) {
        keyInput.value = stored;
        remember.checked = true;
      }
    } catch {
      // storage disabled
    }
    remember.addEventListener("change", () => this.rememberKey(keyInput.value.trim()));
    keyToggle.addEventListener("click", () => {
      const show = keyInput.type === "password";
      keyInput.type = show ? "text" : "password";
      keyToggle.setAttribute("aria-pressed", String(show));
      keyToggle.textContent = t(show ? "studio.key.hide" : "studio.key.show");
    });
    keyInput.addEventListener("input", () => {
      keyInput.removeAttribute("aria-invalid");
      this.keyError.hidden = true;
      if (remember.checked) this.rememberKey(keyInput.value.trim());
    });
  }
}
