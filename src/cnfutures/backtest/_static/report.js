/* cnfutures report: draws the charts of the page with uPlot (vendored, MIT, see uPlot.LICENSE).
   Chart specs come from <script type="application/json" id="cnf-data">; every string of them
   is written with textContent / uPlot labels (never parsed as HTML). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cnf-data").textContent);
  var tables = data.tables || {};
  var fmt = function (v, d) {
    if (v === null || v === undefined) return "n/a";
    if (typeof v !== "number") return String(v);
    var a = Math.abs(v);
    var digits = d !== undefined ? d : (a >= 100 ? 0 : a >= 1 ? 2 : 4);
    return v.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  };
  var day = function (t) { return new Date(t * 1000).toISOString().slice(0, 10); };

  function hoverPanel(el, spec) {
    var box = document.createElement("div");
    box.className = "cnf-hover";
    box.textContent = "Hover over the chart for the day's ledger values; drag to zoom, double-click to reset.";
    el.appendChild(box);
    return function (u) {
      var i = u.cursor.idx;
      if (i === null || i === undefined) return;
      var parts = [spec.xtime ? day(u.data[0][i]) : fmt(u.data[0][i])];
      var t = spec.hover ? tables[spec.hover] : null;
      if (t) {
        for (var c = 0; c < t.columns.length; c++) {
          parts.push(t.columns[c] + ": " + fmt(t.values[c][i]));
        }
      } else {
        for (var s = 1; s < u.series.length; s++) {
          parts.push(u.series[s].label + ": " + fmt(u.data[s][i]));
        }
      }
      box.textContent = parts.join("  ·  ");
    };
  }

  function draw(el, spec) {
    var series = [{label: spec.xtime ? "day" : spec.xlabel}];
    var cols = [spec.x];
    var hasY2 = false;
    spec.series.forEach(function (s) {
      var o = {label: s.label + (s.unit ? " [" + s.unit + "]" : ""), stroke: s.color, width: s.width || 1.5,
               scale: s.axis === "y2" ? "y2" : "y", spanGaps: false,
               value: function (u, v) { return fmt(v); }};
      if (s.dash) o.dash = s.dash;
      if (s.points) { o.paths = function () { return null; }; o.points = {show: true, size: 6, fill: s.color}; }
      if (s.axis === "y2") hasY2 = true;
      series.push(o);
      cols.push(s.values);
    });
    var axes = [{label: spec.xlabel || ""}, {label: spec.ylabel || "", scale: "y", size: 80,
                 values: function (u, vals) { return vals.map(function (v) { return fmt(v, 0); }); }}];
    if (hasY2) axes.push({label: spec.y2label || "", scale: "y2", side: 1, size: 70, grid: {show: false}});
    var update = hoverPanel(el, spec);
    var plot = el.querySelector(".cnf-plot");
    var opts = {
      title: spec.title,
      width: Math.max(plot.clientWidth, 400),
      height: spec.height || 320,
      series: series,
      axes: axes,
      scales: {x: {time: !!spec.xtime}},
      legend: {live: true},
      cursor: {drag: {x: true, y: false}},
      hooks: {setCursor: [update]}
    };
    if (spec.bands) {
      opts.bands = spec.bands.map(function (b) { return {series: b.series, fill: b.fill}; });
    }
    var u = new uPlot(opts, cols, plot);
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () {
      u.setSize({width: Math.max(plot.clientWidth, 400), height: opts.height});
    });
  }

  var els = document.querySelectorAll(".cnf-chart");
  for (var i = 0; i < els.length; i++) {
    draw(els[i], data.charts[parseInt(els[i].getAttribute("data-chart"), 10)]);
  }
})();
