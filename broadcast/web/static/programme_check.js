// Slot forms (stream relay on the programme page, schedule on a bulletin page): ask the station what saving
// would refuse — quiet hours, clashes with other slots, approval, zones — while the officer is still choosing,
// and say it in the form's live region. The same checks run again on save; without script the "Kiểm tra"
// button asks the same question with a page load.
(function () {
  "use strict";
  var DELAY_MS = 400;

  function values(form, name) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name === name && el.checked;
    }).map(function (el) { return el.value; });
  }

  function value(form, name) {
    var el = form.elements.namedItem(name);
    return el && typeof el.value === "string" ? el.value.trim() : "";
  }

  // The JSON body of POST /api/slots for what the form holds, built as the form's own route builds its
  // request; null while there is no time to check yet.
  function slotBody(form) {
    if (form.getAttribute("data-slot-check") === "bulletin") {
      var once = (values(form, "mode")[0] || "once") === "once";
      var at = value(form, once ? "start_at" : "daily_at");
      if (!at) return null;
      var body = {bulletin_id: Number(form.getAttribute("data-bulletin")), zones: []};
      if (once) { body.start_at = at; } else { body.daily_at = at; body.days = values(form, "days"); }
      return body;
    }
    var daily = value(form, "daily_at");
    if (!daily) return null;
    var title = value(form, "title");
    return {zones: [value(form, "zone")], daily_at: daily, days: values(form, "days"), title: title,
            items: [{stream_url: value(form, "url"), duration_s: Number(value(form, "minutes")) * 60, title: title}]};
  }

  function show(output, problems, note) {
    output.textContent = "";
    if (problems.length === 0) {
      var ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = note;
      output.appendChild(ok);
      return;
    }
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "Cần sửa trước khi lưu:";
    head.appendChild(strong);
    var list = document.createElement("ul");
    problems.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    output.appendChild(head);
    output.appendChild(list);
  }

  function watch(form) {
    var output = form.querySelector("[data-slot-check-output]");
    if (!output) return;
    var timer = null, asked = 0;
    function check() {
      var body = slotBody(form);
      if (body === null) { output.textContent = ""; return; }
      var mine = ++asked;
      fetch("/api/programme/slots/check", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", Accept: "application/json"}, body: JSON.stringify(body)
      })
        .then(function (r) { return r.json().then(function (answer) { return {ok: r.ok, answer: answer}; }); })
        .then(function (res) {
          if (mine !== asked) return;  // an older answer arriving after a newer question
          if (!res.ok) { show(output, [res.answer.detail || "Không kiểm tra được."], ""); return; }
          var first = res.answer.next_start_local ? " — lần phát đầu lúc " + res.answer.next_start_local : "";
          show(output, res.answer.problems.map(function (p) { return p.message; }),
               "Không thấy vấn đề gì" + first + ". Có thể lưu.");
        })
        .catch(function () {
          if (mine === asked) show(output, ["Không kết nối được máy chủ để kiểm tra; trạm vẫn kiểm tra khi lưu."], "");
        });
    }
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY_MS);
    }
    // Times and numbers are checked as they change; text fields once they are left (each check is a request).
    form.addEventListener("input", function (event) {
      if (/^(time|datetime-local|number)$/.test(event.target.type || "")) later();
    });
    form.addEventListener("change", later);
    if (slotBody(form) !== null && !output.textContent.trim()) later();  // values kept after a reload
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-slot-check]"), watch);
})();
