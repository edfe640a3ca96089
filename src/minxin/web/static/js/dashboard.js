/* The KPI dashboard's charts (ECharts, vendored). Data: the JSON block #dashboard-data rendered by
   minxin.web.routes.dashboard. Every bar, point and slice opens the list of the orders behind it. */
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.textContent);
  var charts = [];

  function make(id, option, urls) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    option.animation = false;  // office PCs: draw at once, clickable at once
    chart.setOption(option);
    chart.on("click", function (params) {
      var url = urls(params);
      if (url) { window.location.href = url; }
    });
    charts.push(chart);
  }

  var t = data.trend;
  make("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: ["有效工单量", "满意率（考核口径）", "按时办结率"] },
    grid: { left: 60, right: 60, top: 50, bottom: 30 },
    xAxis: { type: "category", data: t.months },
    yAxis: [
      { type: "value", name: "工单量" },
      { type: "value", name: "%", min: function (v) { return Math.max(0, Math.floor(v.min - 5)); }, max: 100 }
    ],
    series: [
      { name: "有效工单量", type: "bar", data: t.volume, itemStyle: { color: "#5b8ff9" } },
      { name: "满意率（考核口径）", type: "line", yAxisIndex: 1, data: t.satisfaction, connectNulls: false, itemStyle: { color: "#e8684a" } },
      { name: "按时办结率", type: "line", yAxisIndex: 1, data: t.on_time, connectNulls: false, itemStyle: { color: "#5ad8a6" } }
    ]
  }, function (p) { return t.urls[p.dataIndex]; });

  var b = data.breakdowns;
  make("chart-channel", {
    tooltip: { trigger: "item", formatter: "{b}: {c} 件 ({d}%)" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: b.channel.map(function (r) { return { name: r.name, value: r.value }; }) }]
  }, function (p) { return b.channel[p.dataIndex] && b.channel[p.dataIndex].url; });

  make("chart-appeal_type", {
    tooltip: { trigger: "axis" },
    grid: { left: 50, right: 10, top: 20, bottom: 30 },
    xAxis: { type: "category", data: b.appeal_type.map(function (r) { return r.name; }) },
    yAxis: { type: "value" },
    series: [{ type: "bar", data: b.appeal_type.map(function (r) { return r.value; }), itemStyle: { color: "#5ad8a6" } }]
  }, function (p) { return b.appeal_type[p.dataIndex] && b.appeal_type[p.dataIndex].url; });

  var cats = b.category.slice(0, 12).reverse();
  make("chart-category", {
    tooltip: { trigger: "axis" },
    grid: { left: 110, right: 20, top: 10, bottom: 20 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: cats.map(function (r) { return r.name; }), axisLabel: { width: 100, overflow: "truncate" } },
    series: [{ type: "bar", data: cats.map(function (r) { return r.value; }), itemStyle: { color: "#f6bd16" } }]
  }, function (p) { return cats[p.dataIndex] && cats[p.dataIndex].url; });

  var ranked = data.ranking.filter(function (u) { return u.score !== null; }).slice(0, 20).reverse();
  var rankingEl = document.getElementById("chart-ranking");
  if (rankingEl) { rankingEl.style.height = Math.max(160, 40 + 28 * ranked.length) + "px"; }
  make("chart-ranking", {
    tooltip: { trigger: "axis", formatter: function (ps) { var u = ranked[ps[0].dataIndex]; return u.rank + ". " + u.name + "：" + u.score.toFixed(2) + " 分（工单 " + u.volume + " 件）"; } },
    grid: { left: 170, right: 40, top: 10, bottom: 20 },
    xAxis: { type: "value", min: 0, max: 100 },
    yAxis: { type: "category", data: ranked.map(function (u) { return u.rank + ". " + u.name; }), axisLabel: { width: 160, overflow: "truncate" } },
    series: [{ type: "bar", data: ranked.map(function (u) { return Number(u.score.toFixed(2)); }), itemStyle: { color: "#1f5fbf" },
               label: { show: true, position: "right", formatter: function (p) { return p.value.toFixed(1); } } }]
  }, function (p) { return ranked[p.dataIndex] && ranked[p.dataIndex].orders_url; });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
