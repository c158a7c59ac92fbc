/* The serial console: xterm.js (static/vendor/xterm) on the panel's websocket, raw bytes
 * both ways (apps/live/console.py); the "Send keys" menu presses keys through the driver. */
(function () {
  "use strict";
  const root = document.querySelector("[data-console]");
  if (!root || root.dataset.kind !== "serial") return;
  const screen = root.querySelector("[data-console-screen]");
  const term = new window.Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 14 });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  fit.fit();
  window.addEventListener("resize", () => fit.fit());
  const encoder = new TextEncoder();
  let socket = null;
  term.onData((text) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(text));
  });
  root.querySelectorAll("[data-send-keys]").forEach((button) => button.addEventListener("click", () => {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ action: "keys", keys: button.dataset.sendKeys }));
    }
    button.closest("details").open = false;
    term.focus();
  }));
  window.vmmConsole = { term, socket: () => socket };

  import(root.dataset.common).then(({ consolePage }) => consolePage(root, (url, _data, opened, closed) => {
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => { opened(); term.focus(); });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") term.write(new Uint8Array(event.data));
    });
    socket.addEventListener("close", closed);
  }));
})();
