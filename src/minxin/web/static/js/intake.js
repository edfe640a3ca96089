/* Intake form: Alt shortcuts, the direct-answer section, and live suggestions from
 * POST /api/v1/intake/analyze (category, unit with its rule, urgency with its reasons,
 * similar recent orders with a merge button). If the endpoint answers 404 the panel says
 * "尚未启用" and stops asking; any other failure just hides the suggestions. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) return;
  var panel = document.getElementById("suggest");
  var body = panel && panel.querySelector("[data-suggest-body]");
  var empty = panel && panel.querySelector("[data-suggest-empty]");
  var directTypes = (form.getAttribute("data-direct-types") || "").split(",");

  /* ---- shortcuts: Alt+S register, Alt+D register and dispatch, Alt+A direct answer; Ctrl+Enter = Alt+S */
  function press(key) {
    var button = form.querySelector("button[data-key='" + key + "']");
    if (button && !button.closest("[hidden]")) form.requestSubmit(button);
  }
  document.addEventListener("keydown", function (ev) {
    var k = (ev.key || "").toLowerCase();
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.code === "KeyS" || ev.code === "KeyD" || ev.code === "KeyA")) {
      ev.preventDefault();
      press(ev.code.slice(3).toLowerCase());
    } else if ((ev.ctrlKey || ev.metaKey) && k === "enter") {
      ev.preventDefault();
      press("s");
    }
  });

  /* ---- direct answer only for consultations, suggestions and praise */
  function appealType() {
    var checked = form.querySelector("input[name=appeal_type]:checked");
    return checked ? checked.value : "";
  }
  function toggleDirect() {
    var on = directTypes.indexOf(appealType()) >= 0;
    form.querySelectorAll("[data-direct-only]").forEach(function (el) { el.hidden = !on; });
  }
  form.addEventListener("change", function (ev) {
    if (ev.target.name === "appeal_type") { toggleDirect(); schedule(); }
  });
  toggleDirect();

  /* ---- live suggestions */
  if (!panel || !body || !window.minxin) return;
  var url = panel.getAttribute("data-analyze");
  var disabled = false, timer = null, seq = 0, lastKey = "";

  function val(name) {
    var el = form.elements[name];
    return el && el.value ? el.value.trim() : "";
  }
  function schedule() {
    if (disabled) return;
    clearTimeout(timer);
    timer = setTimeout(analyze, 600);
  }
  form.querySelectorAll("[data-analyze-input]").forEach(function (el) { el.addEventListener("input", schedule); });

  /* the request sends everything the form knows; if the endpoint refuses that shape (422), it is
   * asked again with the text fields only, and that shape is kept */
  var fields = ["title", "content", "address", "phone", "appeal_type", "channel"];
  function analyze() {
    var payload = {};
    fields.forEach(function (f) { payload[f] = f === "appeal_type" ? appealType() : val(f); });
    if (((payload.title || "") + (payload.content || "")).length < 4) return;
    var key = JSON.stringify(payload);
    if (key === lastKey) return;
    lastKey = key;
    var mine = ++seq;
    window.minxin.api(url, {
      method: "POST", body: key, headers: { "Content-Type": "application/json" }
    }).then(function (res) {
      if (res.status === 404) { disabled = true; showOff(); return null; }
      if (res.status === 422 && fields.length > 3) { fields = ["title", "content", "address"]; lastKey = ""; analyze(); return null; }
      if (!res.ok) { clear(); return null; }
      return res.json();
    }).then(function (data) {
      if (data && mine === seq) render(data);
    }).catch(function () { clear(); });
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function clear() { body.textContent = ""; if (empty) empty.hidden = false; }
  function showOff() { body.textContent = ""; if (empty) { empty.hidden = false; empty.textContent = "智能建议尚未启用。"; } }
  function pct(x) {
    var n = Number(x);
    if (isNaN(n)) return "";
    return (n <= 1 ? Math.round(n * 100) : Math.round(n)) + "%";
  }
  function list(x) { return Array.isArray(x) ? x : (x ? [x] : []); }
  function why(reasons) {
    return list(reasons).map(function (r) {
      if (typeof r === "string") return r;
      return [r.word || r.keyword || r.term || r.match, r.label || r.rule || r.category || r.reason]
        .filter(Boolean).join("：");
    }).filter(Boolean).join("；");
  }
  function section(title) { body.appendChild(el("h3", null, title)); }
  function choice(label, detail, onPick) {
    var b = el("button", "sg-item");
    b.type = "button";
    b.appendChild(el("span", null, label));
    if (detail) b.appendChild(el("span", "sg-why", detail));
    b.addEventListener("click", onPick);
    body.appendChild(b);
    return b;
  }
  function setSelect(name, value, label) {
    var select = form.elements[name];
    if (!select || !value) return;
    if (!Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.appendChild(new Option(label || value, value));
    }
    select.value = value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function render(data) {
    body.textContent = "";
    var any = false;
    var cats = list(data.categories || data.category_suggestions || data.category);
    if (cats.length) {
      any = true;
      section("建议分类");
      cats.slice(0, 3).forEach(function (c) {
        var name = c.path_zh || c.name || c.label || c.code;
        choice(name, pct(c.confidence !== undefined ? c.confidence : (c.score !== undefined ? c.score : c.probability)),
          function () { setSelect("category", c.code, name); });
      });
    }
    var unit = data.unit || data.routing;
    if (unit && (unit.code || unit.unit)) {
      any = true;
      section("建议承办单位");
      var code = unit.code || unit.unit;
      choice(unit.name || code, unit.rule_zh || unit.rule || unit.explanation || unit.reason || "",
        function () { setSelect("unit", code, unit.name); });
    }
    var urg = data.urgency;
    if (urg && (urg.level || urg.value)) {
      var level = urg.level || urg.value;
      if (level !== "normal" || list(urg.reasons).length) {
        any = true;
        section("紧急程度");
        choice(urg.level_zh || { urgent: "紧急", emergency: "特急", normal: "一般" }[level] || level, why(urg.reasons),
          function () {
            var radio = form.querySelector("input[name=urgency][value='" + level + "']");
            if (radio) radio.checked = true;
          });
      }
    }
    var dups = list(data.duplicates || data.similar);
    if (dups.length) {
      any = true;
      section("相似工单（近期）");
      dups.slice(0, 5).forEach(function (d) {
        var box = el("div", "sg-item");
        var text = el("span");
        var link = el("a", "mono", d.number);
        link.href = "/orders/" + encodeURIComponent(d.number);
        link.target = "_blank";
        text.appendChild(link);
        text.appendChild(document.createTextNode(" " + (d.title || "")));
        box.appendChild(text);
        box.appendChild(el("span", "sg-why", [d.status_zh, pct(d.score !== undefined ? d.score : d.similarity), why(d.reasons || d.reason)]
          .filter(Boolean).join(" · ")));
        var merge = form.querySelector("button[name=submit][value=merge]");
        if (merge) {
          var b = el("button", "btn btn-small", "并入此单");
          b.type = "button";
          b.addEventListener("click", function () {
            form.elements.merge_into.value = d.number;
            form.requestSubmit(merge);
          });
          box.appendChild(b);
        }
        body.appendChild(box);
      });
    }
    var answers = list(data.answers || data.direct_answers);
    if (answers.length && form.elements.answer) {
      any = true;
      section("参考答复");
      answers.slice(0, 3).forEach(function (a) {
        var text = a.text || a.answer || "";
        choice(text.slice(0, 60), a.source || a.title || "", function () { form.elements.answer.value = text; });
      });
    }
    if (empty) empty.hidden = any;
  }
})();
