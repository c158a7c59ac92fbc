/* Statistics graphs: fetch a VM's or host's series from the API and draw them with uPlot.
 *
 * Markup: templates/ui/stats/_graphs.html (a .stats-card with data-stats-url, range
 * buttons and one <figure data-chart> per graph naming its columns in data-series).
 * The API answers {series: {t: [...], cpu_pct: [...], ...}}: uPlot's own column format.
 * Rates in the third and fourth column of a chart (IOPS, packets) go on a right-hand axis.
 * The current range is refreshed every 30 s while the page is visible.
 */
(function () {
  "use strict";

  const COLORS = ["#2563eb", "#16a34a", "#d97706", "#9333ea"];
  const REFRESH_MS = 30000;

  function bytes(value, perSecond) {
    if (value == null) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let n = Math.abs(value);
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i] + (perSecond ? "/s" : "");
  }

  function number(value) {
    if (value == null) return "—";
    return value >= 100 ? value.toFixed(0) : value.toFixed(1);
  }

  function formatter(unit) {
    if (unit === "pct") return (v) => (v == null ? "—" : v.toFixed(1) + " %");
    if (unit === "bytes") return (v) => bytes(v, false);
    return (v) => bytes(v, true);
  }

  function options(figure, width) {
    const unit = figure.dataset.unit;
    const columns = figure.dataset.series.split("|");
    const labels = figure.dataset.labels.split("|");
    const fmt = formatter(unit);
    const series = [{}];
    columns.forEach((column, i) => {
      const secondary = i >= 2;
      series.push({
        label: labels[i] || column,
        scale: secondary ? "ops" : "y",
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        dash: secondary || column === "memory_total_bytes" ? [4, 4] : undefined,
        value: (u, v) => (secondary ? number(v) : fmt(v)),
      });
    });
    const axes = [{}, { scale: "y", size: 84, values: (u, ticks) => ticks.map(fmt) }];
    if (columns.length > 2) {
      axes.push({ scale: "ops", side: 1, size: 48, grid: { show: false }, values: (u, ticks) => ticks.map(number) });
    }
    return {
      width: width,
      height: 200,
      series: series,
      axes: axes,
      scales: {
        x: { time: true },
        y: unit === "pct" ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(max || 0, 1)] },
        ops: { range: (u, min, max) => [0, Math.max(max || 0, 1)] },
      },
      legend: { live: true },
    };
  }

  function Card(card) {
    this.card = card;
    this.url = card.dataset.statsUrl;
    this.grid = card.querySelector("[data-stats-grid]");
    this.message = card.querySelector("[data-stats-message]");
    this.range = "1h";
    this.plots = [];
    card.querySelectorAll("[data-range]").forEach((button) => {
      button.addEventListener("click", () => {
        this.range = button.dataset.range;
        card.querySelectorAll("[data-range]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
        this.load();
      });
    });
    window.addEventListener("resize", () => this.resize());
    setInterval(() => { if (!document.hidden) this.load(); }, REFRESH_MS);
    this.load();
  }

  Card.prototype.say = function (text) {
    this.message.textContent = text;
    this.message.hidden = !text;
  };

  Card.prototype.load = function () {
    const url = this.url + "?range=" + encodeURIComponent(this.range);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((body) => this.draw(body))
      .catch(() => {
        this.grid.hidden = true;
        this.say(this.card.dataset.msgError);
      });
  };

  Card.prototype.draw = function (body) {
    this.plots.forEach((plot) => plot.destroy());
    this.plots = [];
    const columns = body.series;
    if (!body.points) {
      this.grid.hidden = true;
      this.say(this.card.dataset.msgEmpty);
      return;
    }
    this.say("");
    this.grid.hidden = false;
    this.card.querySelectorAll("[data-chart]").forEach((figure) => {
      const target = figure.querySelector(".stats-plot");
      const data = [columns.t].concat(figure.dataset.series.split("|").map((name) => columns[name]));
      this.plots.push(new uPlot(options(figure, target.clientWidth || 360), data, target));
    });
  };

  Card.prototype.resize = function () {
    this.plots.forEach((plot) => {
      plot.setSize({ width: plot.root.parentNode.clientWidth || 360, height: 200 });
    });
  };

  function start() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll(".stats-card[data-stats-url]").forEach((card) => new Card(card));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
