/* Live updates over the panel's websocket (/ws/ under the URL prefix, apps/live/consumers.py).
 *
 * Elements opt in with data attributes:
 *   [data-live-job="<uuid>"]  a job card: status, progress, failure, steps are redrawn;
 *   [data-vm="<id>"]          a VM row or page: [data-vm-field] badges, addresses, busy link,
 *                             [data-vm-show="running stopped"] shown only in those states,
 *                             [data-host-unreachable(-note)] shown while the VM's host is lost.
 * On (re)connect every watched object is subscribed again and its snapshot redraws it,
 * so a page opened late or after a lost connection shows the full history, then goes live.
 */
(function () {
  "use strict";
  var L = JSON.parse(document.getElementById("ui-labels").textContent);
  var JOB_URL = document.body.getAttribute("data-job-url") || "/jobs/00000000-0000-0000-0000-000000000000/";
  var LIVE_PATH = document.body.getAttribute("data-live-path") || "/ws/"; // under VMM_URL_PREFIX too
  var STEP_RANK = { pending: 0, running: 1, succeeded: 2, failed: 2, skipped: 2 };
  var JOB_RANK = { queued: 0, running: 1, succeeded: 2, failed: 2 };
  var ENDED = { succeeded: 1, failed: 1 }; // skipped steps do not count as progress

  function label(kind, value) { return (L[kind] && L[kind][value]) || value; }
  function tone(kind, value) { return (L.tones[kind] && L.tones[kind][value]) || "idle"; }
  function badge(kind, value) {
    var span = document.createElement("span");
    span.className = "badge badge-" + tone(kind, value);
    span.textContent = label(kind, value);
    return span;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  /* --- Durations ------------------------------------------------------------------ */
  var clockSkew = 0; // server time minus browser time, in ms
  function fmtDuration(ms) {
    var s = Math.max(0, ms) / 1000;
    if (s < 10) return s.toFixed(1) + " " + L.words.seconds;
    if (s < 60) return Math.floor(s) + " " + L.words.seconds;
    var sec = Math.floor(s % 60);
    return Math.floor(s / 60) + " " + L.words.minutes + " " + (sec < 10 ? "0" : "") + sec + " " + L.words.seconds;
  }
  function elapsed(started, finished) {
    if (!started) return "";
    var end = finished ? Date.parse(finished) : Date.now() + clockSkew;
    return fmtDuration(end - Date.parse(started));
  }
  function tick() {
    document.querySelectorAll("[data-started]").forEach(function (node) {
      if (node.dataset.started && !node.dataset.finished) node.textContent = elapsed(node.dataset.started, "");
    });
  }

  /* --- Jobs ------------------------------------------------------------------------ */
  var jobs = {}; // id -> {job, steps: {position: step}}

  function applySnapshot(msg) {
    // Merged, never replaced: live events that overtook this snapshot stay applied.
    var state = jobs[msg.job.id] || { job: msg.job, steps: {} };
    jobs[msg.job.id] = state;
    if (JOB_RANK[msg.job.status] >= JOB_RANK[state.job.status]) state.job = msg.job;
    msg.steps.forEach(function (step) { mergeStep(state, step); });
    // A job still waiting has no planned steps yet; the runner plans them when it starts,
    // so the first live step asks once more for the snapshot with the whole plan.
    state.needsPlan = msg.steps.length === 0 && !(msg.job.status in { succeeded: 1, failed: 1 });
    drawJob(msg.job.id);
  }
  function mergeStep(state, step) {
    var old = state.steps[step.position];
    // Events may arrive just after a snapshot that already includes them: never go back.
    if (old && STEP_RANK[step.status] < STEP_RANK[old.status]) return;
    state.steps[step.position] = step;
  }
  function applyStep(jobId, step) {
    var state = jobs[jobId];
    if (!state) return;
    mergeStep(state, step);
    if (state.needsPlan) {
      state.needsPlan = false;
      send({ action: "subscribe", job: jobId });
    }
    drawJob(jobId);
  }
  function applyJob(job) {
    var state = jobs[job.id];
    if (!state || JOB_RANK[job.status] < JOB_RANK[state.job.status]) return;
    state.job = job;
    drawJob(job.id);
  }

  function drawStep(step) {
    var li = el("li", "step step-" + step.status);
    li.dataset.position = step.position;
    li.appendChild(el("span", "step-dot"));
    var main = el("div", "step-main");
    main.appendChild(el("div", "step-name", label("stepname", step.name)));
    if (step.detail) main.appendChild(el("pre", "step-detail", step.detail));
    li.appendChild(main);
    var time = el("span", "step-time", elapsed(step.started_at, step.finished_at));
    time.dataset.started = step.started_at || "";
    time.dataset.finished = step.finished_at || "";
    li.appendChild(time);
    li.appendChild(badge("step", step.status));
    return li;
  }

  function drawJob(id) {
    var state = jobs[id];
    var job = state.job;
    var steps = Object.keys(state.steps).map(Number).sort(function (a, b) { return a - b; })
      .map(function (p) { return state.steps[p]; });
    var done = steps.filter(function (s) { return ENDED[s.status]; }).length;
    var pct = job.status === "succeeded" ? 100 : steps.length ? Math.round((100 * done) / steps.length) : 0;
    var failed = steps.filter(function (s) { return s.status === "failed"; })[0];
    document.querySelectorAll('[data-live-job="' + id + '"]').forEach(function (card) {
      var q = function (sel) { return card.querySelector(sel); };
      if (q("[data-job-status]")) q("[data-job-status]").replaceChildren(badge("job", job.status));
      var bar = q("[data-job-progress]");
      if (bar) {
        bar.style.width = pct + "%";
        bar.className = job.status === "failed" ? "bar-bad" : job.status === "succeeded" ? "bar-ok" : "bar-busy";
      }
      if (q("[data-job-progress-text]")) q("[data-job-progress-text]").textContent = pct + "%";
      var duration = q("[data-job-duration]");
      if (duration) {
        duration.dataset.started = job.started_at || "";
        duration.dataset.finished = job.finished_at || "";
        duration.textContent = job.started_at ? elapsed(job.started_at, job.finished_at) : "—";
      }
      var failure = q("[data-job-failure]");
      if (failure) {
        failure.hidden = job.status !== "failed";
        q("[data-job-error]").textContent = job.error || "";
        q("[data-job-failed-step]").textContent = failed
          ? L.words.failedAt + " " + failed.position + ": " + label("stepname", failed.name)
          : label("job", "failed");
      }
      var list = q("[data-job-steps]");
      if (list) list.replaceChildren.apply(list, steps.map(drawStep));
      var waiting = q("[data-job-waiting]");
      if (waiting) waiting.hidden = steps.length > 0 || job.status === "succeeded" || job.status === "failed";
      card.dataset.jobState = job.status;
    });
  }

  /* --- VMs ------------------------------------------------------------------------- */
  function applyVm(vm) {
    document.querySelectorAll('[data-vm="' + vm.id + '"]').forEach(function (root) {
      root.querySelectorAll("[data-vm-field]").forEach(function (node) {
        var field = node.dataset.vmField;
        if (field === "power_state") {
          node.replaceChildren(badge("power", vm.power_state));
          node.hidden = !!vm.host_unreachable; // then only the last known state: not shown
        }
        else if (field === "status") {
          node.replaceChildren(badge("vm", vm.status));
          node.hidden = vm.status === "active";
        } else if (field === "ip_addresses") node.textContent = vm.ip_addresses.join(", ") || "—";
        else if (field === "current_job") {
          node.hidden = !vm.current_job;
          if (vm.current_job) {
            node.href = JOB_URL.replace("00000000-0000-0000-0000-000000000000", vm.current_job);
            if (!node.textContent.trim()) node.textContent = L.words.busy;
          }
        }
      });
      root.querySelectorAll("[data-host-unreachable], [data-host-unreachable-note]").forEach(function (node) {
        node.hidden = !vm.host_unreachable;
      });
      root.querySelectorAll("[data-vm-show]").forEach(function (node) {
        node.hidden = node.dataset.vmShow.split(" ").indexOf(vm.power_state) < 0;
      });
    });
    // A job started or ended: the VM's job history is fetched again (one database read).
    // The page also follows the new job, because the VM is released a moment before the
    // job's final status is saved: its job.status event redraws the table once more.
    document.querySelectorAll('[data-vm-jobs="' + vm.id + '"]').forEach(function (node) {
      var current = vm.current_job || "";
      if (node.dataset.currentJob === current) return;
      node.dataset.currentJob = current;
      if (current && !historyJobs[current]) {
        historyJobs[current] = vm.id;
        if (!watched.jobs[current]) { watched.jobs[current] = 1; send({ action: "subscribe", job: current }); }
      }
      refreshHistory(vm.id);
    });
  }
  var historyJobs = {}; // job id -> VM id, for jobs shown in a VM's job history
  function refreshHistory(vmId) {
    document.querySelectorAll('[data-vm-jobs="' + vmId + '"]').forEach(function (node) {
      if (window.htmx) window.htmx.trigger(node, "vm-jobs-changed");
    });
  }
  function historyJobEnded(job) {
    var vmId = historyJobs[job.id];
    if (vmId === undefined || !(job.status in { succeeded: 1, failed: 1 })) return;
    delete historyJobs[job.id];
    refreshHistory(vmId);
  }

  /* --- Socket ---------------------------------------------------------------------- */
  var socket = null;
  var retries = 0;
  var watched = { jobs: {}, vms: {} };

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
  function subscribe(jobIds, vmIds) {
    jobIds.forEach(function (id) { send({ action: "subscribe", job: id }); });
    for (var i = 0; i < vmIds.length; i += 200) send({ action: "subscribe", vms: vmIds.slice(i, i + 200) });
  }
  function scan(root) {
    var newJobs = [], newVms = [];
    root.querySelectorAll("[data-live-job]").forEach(function (node) {
      var id = node.dataset.liveJob;
      if (!watched.jobs[id]) { watched.jobs[id] = 1; newJobs.push(id); }
      var now = node.dataset.serverNow;
      if (now) clockSkew = Date.parse(now) - Date.now();
    });
    root.querySelectorAll("[data-vm]").forEach(function (node) {
      var id = parseInt(node.dataset.vm, 10);
      if (!watched.vms[id]) { watched.vms[id] = 1; newVms.push(id); }
    });
    root.querySelectorAll("[data-vm-jobs][data-current-job]").forEach(function (node) {
      var id = node.dataset.currentJob;
      if (!id || historyJobs[id]) return;
      historyJobs[id] = parseInt(node.dataset.vmJobs, 10);
      if (!watched.jobs[id]) { watched.jobs[id] = 1; newJobs.push(id); }
    });
    if (newJobs.length || newVms.length) {
      if (!socket) connect();
      else subscribe(newJobs, newVms);
    }
  }
  function onMessage(event) {
    var msg = JSON.parse(event.data);
    if (msg.type === "job.snapshot") { applySnapshot(msg); historyJobEnded(msg.job); }
    else if (msg.type === "job.step") applyStep(msg.job, msg.step);
    else if (msg.type === "job.status") { applyJob(msg.job); historyJobEnded(msg.job); }
    else if (msg.type === "vm.snapshot") msg.vms.forEach(applyVm);
    else if (msg.type === "vm.state") applyVm(msg.vm);
  }
  function connect() {
    var offline = document.getElementById("live-offline");
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + LIVE_PATH);
    socket.onopen = function () {
      retries = 0;
      if (offline) offline.hidden = true;
      subscribe(Object.keys(watched.jobs), Object.keys(watched.vms).map(Number));
    };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      if (event.code === 4403) { location.reload(); return; } // blocked: the page signs out
      if (offline) offline.hidden = false;
      // Back off, with jitter so that pages do not all return at once after a restart.
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retries++)) * (0.5 + Math.random()));
    };
  }
  setInterval(function () { send({ action: "ping" }); }, 25000);
  setInterval(tick, 1000);
  window.vmmLive = { scan: scan, jobs: jobs };
  document.addEventListener("htmx:afterSwap", function () { scan(document); });
  scan(document);
})();
