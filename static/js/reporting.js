// Reports: draws Chart.js charts from data in json_script tags (no inline scripts: CSP).
// <canvas data-chart="ID"> reads {labels, datasets: [{label, data, type?}], stacked?} from #ID.
(function () {
  "use strict";
  const COLORS = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545"];

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof window.Chart === "undefined") { return; }
    const spec = JSON.parse(source.textContent);
    const datasets = spec.datasets.map(function (ds, i) {
      const color = COLORS[i % COLORS.length];
      return {
        label: ds.label,
        data: ds.data,
        type: ds.type || "bar",
        backgroundColor: ds.type === "line" ? color : color + "cc",
        borderColor: color,
        borderWidth: ds.type === "line" ? 2 : 0,
        tension: 0.2,
        order: ds.type === "line" ? 0 : 1,
      };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: !!spec.stacked },
          y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    canvas.dataset.drawn = "1";
  }

  function init() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
