/* Shared by the serial and the graphical console (docs/console.md): ask the panel for a
 * one-time ticket (POST, CSRF token of the page), open the websocket it names, tell the user
 * why it closed and reconnect with a new ticket when the console may come back (the VM
 * restarted, the bridge was away, the connection was lost); never after a block or a
 * deletion. `open(ticket, onClose)` is the kind's own connect. */
export function consolePage(root, open) {
  const status = root.querySelector("[data-console-status]");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const say = (text, bad) => { status.textContent = text; status.classList.toggle("bad", Boolean(bad)); };
  const final = new Set([4403, 4404, 4409, 4502]);
  let tries = 0;

  async function ticket() {
    const body = new URLSearchParams({ kind: root.dataset.kind });
    const answer = await fetch(root.dataset.ticketUrl, {
      method: "POST", body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin",
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error((data.errors || []).map((e) => e.message).join(" ") || root.dataset.msgRefused);
    return data;
  }

  function closed(event) {
    const code = event && event.code;
    const text = root.getAttribute("data-msg-" + code); // data-msg-4404: not camel-cased
    if (final.has(code)) { say(text, true); return; }
    say(text || root.dataset.msgLost, true);
    tries += 1;
    setTimeout(connect, Math.min(1000 * tries, 5000));
  }

  async function connect() {
    say(root.dataset.msgConnecting);
    let data;
    try { data = await ticket(); } catch (error) {
      say(error.message, true);
      tries += 1;
      if (tries < 60) setTimeout(connect, 5000);
      return;
    }
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + data.path;
    open(url, data, () => { tries = 0; say(root.dataset.msgConnected); }, closed);
  }

  connect();
  return { say };
}
