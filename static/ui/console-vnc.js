/* The graphical console: noVNC (static/vendor/novnc, an ES module) on the panel's websocket,
 * which carries the VM's VNC (RFB) bytes (apps/live/console.py). */
import RFB from "../vendor/novnc/core/rfb.js";
import { consolePage } from "./console-common.js";

const root = document.querySelector("[data-console]");
const screen = root.querySelector("[data-console-screen]");
let rfb = null;

root.querySelectorAll("[data-send-keys]").forEach((button) => button.addEventListener("click", () => {
  const keys = button.dataset.sendKeys;
  if (rfb && keys === "ctrl-alt-del") rfb.sendCtrlAltDel();
  else if (rfb) {
    // Ctrl+Alt+<key> pressed together: X keysyms of Control_L, Alt_L and the key.
    const last = { "ctrl-alt-backspace": 0xff08 }[keys] || 0xffbe + Number(keys.replace("ctrl-alt-f", "")) - 1;
    rfb.sendKey(0xffe3, "ControlLeft", true);
    rfb.sendKey(0xffe9, "AltLeft", true);
    rfb.sendKey(last, null);
    rfb.sendKey(0xffe9, "AltLeft", false);
    rfb.sendKey(0xffe3, "ControlLeft", false);
  }
  button.closest("details").open = false;
}));

consolePage(root, (url, data, opened, closed) => {
  screen.replaceChildren();
  // noVNC takes an open-or-opening WebSocket too: ours, so that the close code says why.
  const socket = new WebSocket(url, []);
  let closeEvent = { code: 1006 };
  socket.addEventListener("close", (event) => { closeEvent = event; });
  rfb = new RFB(screen, socket, { credentials: { password: data.vnc_password } });
  rfb.scaleViewport = true;
  rfb.addEventListener("connect", () => { opened(); window.vmmVncConnected = true; });
  rfb.addEventListener("disconnect", () => setTimeout(() => closed(closeEvent), 0));
});
