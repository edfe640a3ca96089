/* minxin console: the small script layer every page loads (no framework, no external URL).
 * Pages work without it; it adds deadline countdowns, keyboard shortcuts, row selection,
 * photo previews, double-submit protection and a CSRF-aware fetch for other scripts. */
(function () {
  "use strict";

  var csrf = document.body.getAttribute("data-csrf") || "";

  /* fetch() with the session's CSRF header; used by intake.js */
  function api(url, options) {
    options = options || {};
    var headers = options.headers || {};
    headers["X-CSRF-Token"] = csrf;
    headers["Accept"] = "application/json";
    options.headers = headers;
    options.credentials = "same-origin";
    return fetch(url, options);
  }
  window.minxin = { api: api };

  /* ---------------------------------------------------------- deadline countdowns */
  function span(ms) {
    var m = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (d > 0) return d + "天" + h + "小时";
    if (h > 0) return h + "小时" + mm + "分";
    return mm + "分钟";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".dl[data-due]").forEach(function (el) {
      var left = el.querySelector(".dl-left");
      var dueText = el.getAttribute("data-due");
      var given = el.getAttribute("data-state");
      if (!dueText || given === "paused") { if (left) left.textContent = "已暂停"; return; }
      var due = Date.parse(dueText), warnText = el.getAttribute("data-warn");
      var warn = warnText ? Date.parse(warnText) : NaN;
      if (isNaN(due)) return;
      /* the server's state at render time is a floor: time only moves on (a slow PC clock must not turn red back to green) */
      var rank = { ok: 0, warning: 1, overdue: 2 };
      var state = rank[given] !== undefined ? given : "ok";
      if (!isNaN(warn) && now >= warn && rank[state] < 1) state = "warning";
      if (now > due) state = "overdue";
      el.className = "dl dl-" + state;
      if (left) left.textContent = now > due ? "超时 " + span(now - due) : (state === "overdue" ? "已超期" : "剩 " + span(due - now));
    });
  }
  tick();
  setInterval(tick, 30000);

  /* ---------------------------------------------------------- forms */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { ev.preventDefault(); return; }
    if (form.method.toLowerCase() !== "post") return;
    if (form.dataset.submitting) { ev.preventDefault(); return; }
    form.dataset.submitting = "1";
    setTimeout(function () {  /* after the entry list is built, so the pressed button still counts */
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {  /* back/forward cache: re-enable */
    document.querySelectorAll("form[data-submitting]").forEach(function (f) {
      delete f.dataset.submitting;
      f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (input.matches && input.matches("input[type=file][data-preview]")) {
      var box = document.getElementById(input.getAttribute("data-preview"));
      if (!box) return;
      box.querySelectorAll("[data-from='" + (input.multiple ? "m" : "s") + "']").forEach(function (n) { n.remove(); });
      Array.prototype.forEach.call(input.files || [], function (file) {
        if (!/^image\//.test(file.type)) return;
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        img.setAttribute("data-from", input.multiple ? "m" : "s");
        box.appendChild(img);
      });
    }
    if (input.matches && input.matches("[data-check-all]")) {
      var table = input.closest("table");
      table.querySelectorAll("input[name=numbers]").forEach(function (c) { c.checked = input.checked; });
    }
    if (input.name === "numbers" || (input.matches && input.matches("[data-check-all]"))) countSelected();
  });
  function countSelected() {
    var out = document.querySelector("[data-selected-count]");
    if (out) out.textContent = "已选 " + document.querySelectorAll("input[name=numbers]:checked").length + " 件";
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t.closest("[data-back]")) { ev.preventDefault(); history.back(); return; }
    if (t.closest("[data-help]")) { openHelp(); return; }
    var row = t.closest("tr[data-href]");
    if (row && !t.closest("a,button,input,select,label,textarea,form,audio,summary")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  /* ---------------------------------------------------------- keyboard */
  function openHelp() {
    var d = document.getElementById("help");
    if (d && d.showModal && !d.open) d.showModal();
  }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  var current = -1, pendingG = false;
  function rows() {
    var list = document.querySelector("table[data-list]");
    return list ? Array.prototype.slice.call(list.querySelectorAll("tbody tr[data-href]")) : [];
  }
  function select(i) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, n) { r.classList.toggle("sel", n === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    var key = ev.key;
    if (pendingG) {
      pendingG = false;
      var go = { i: "/intake", q: "/queues/all", h: "/", c: "/callbacks", s: "/supervision" }[key];
      if (go) { ev.preventDefault(); window.location.href = go; }
      return;
    }
    if (key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1200); return; }
    if (key === "/") {
      var box = document.querySelector("[data-search]");
      if (box) { ev.preventDefault(); box.focus(); box.select(); }
    } else if (key === "?") {
      ev.preventDefault(); openHelp();
    } else if (key === "j") {
      select(current + 1);
    } else if (key === "k") {
      select(current - 1);
    } else if ((key === "Enter" || key === "o") && current >= 0) {
      var r = rows()[current];
      if (r) { ev.preventDefault(); window.location.href = r.getAttribute("data-href"); }
    } else if (key === "x" && current >= 0) {
      var c = rows()[current].querySelector("input[name=numbers]");
      if (c) { c.checked = !c.checked; countSelected(); }
    }
  });
})();
