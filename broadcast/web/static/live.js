// "Phát trực tiếp": open the microphone, start a live session, stream 20 ms Int16 frames at 16 kHz (speech:
// a third of the upload of 48 kHz, a third of the loudspeakers' 4G data) over a WebSocket,
// show what the station says (starting -> on_air -> ended), stop. Needs capture.js (window.LoaCapture).
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !window.LoaCapture) return;
  var Cap = window.LoaCapture;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("live-form"), micButton = $("mic-button"), startButton = $("start-button"),
      stopButton = $("stop-button"), meterEl = $("live-meter"), hint = $("live-hint"), stateEl = $("live-state"),
      onAir = $("on-air"), elapsedEl = $("live-elapsed"), devicesEl = $("live-devices");
  var MAX_BUFFERED = Cap.SPEECH_RATE * 2;  // ~1 s of audio waiting in the socket: the link is too slow, drop
  var decimate = Cap.decimator();
  var mic = null, socket = null, sessionId = null, lastReason = null, stopping = false;
  var elapsed = 0, elapsedAt = 0, ticker = null, showLevel = Cap.meter(meterEl);

  function say(text, kind) {
    stateEl.textContent = text || "";
    stateEl.className = kind || "";
  }
  function setState(state) { root.dataset.state = state; }

  var blocked = Cap.blocker();
  if (blocked) {  // plain HTTP to another machine, or a browser without AudioWorklet: no microphone
    if (blocked === "insecure") $("insecure").hidden = false; else say(Cap.OLD_BROWSER, "error");
    micButton.disabled = true;
    startButton.disabled = true;
    setState(blocked);
    return;
  }
  if (root.dataset.available !== "yes") { startButton.disabled = true; }

  function onFrame(frame) {
    showLevel(frame);
    if (socket && socket.readyState === WebSocket.OPEN && socket.bufferedAmount < MAX_BUFFERED) {
      socket.send(Cap.pcm16(decimate(frame)));
    }
  }

  function openMic() {
    if (mic) return Promise.resolve(mic);
    hint.textContent = "Đang mở micro… (nếu trình duyệt hỏi, hãy bấm «Cho phép»)";
    return Cap.open(onFrame).then(function (opened) {
      mic = opened;
      meterEl.hidden = false;
      root.dataset.mic = "on";
      hint.textContent = "Micro đã sẵn sàng: nói thử và xem thanh mức âm nhảy lên.";
      micButton.hidden = true;
      return mic;
    }, function (err) {
      hint.textContent = Cap.micError(err);
      throw err;
    });
  }

  function chosenZones() {
    return Array.prototype.map.call(form.querySelectorAll("input[name=zones]:checked"),
                                    function (box) { return box.value; });
  }

  function tick() {
    var seconds = elapsed + (Date.now() - elapsedAt) / 1000;
    elapsedEl.textContent = Cap.clock(seconds);
  }

  function show(message) {
    var state = message.state;
    var note = typeof message.reason === "string" ? message.reason : "";
    if (state === "ended" && note) lastReason = note;
    if (typeof message.devices === "number") devicesEl.textContent = String(message.devices);
    if (typeof message.elapsed_s === "number") { elapsed = message.elapsed_s; elapsedAt = Date.now(); }
    if (state === "on_air") {
      setState("on_air");
      onAir.hidden = false;
      // While on air the station's note is news for the officer (an alert has the loudspeakers).
      say(note || "Đang phát trực tiếp: hãy nói vào micro.", note ? "warning" : "");
      if (!ticker) ticker = setInterval(tick, 250);
      tick();
    } else if (state === "starting") {
      setState("starting");
      say("Đang phát chuông báo… chờ tín hiệu ĐANG PHÁT rồi hãy nói.", "warning");
    } else if (state === "ended") {
      ended(lastReason);
    }
  }

  // Keep a phone's screen on while a session runs (a sleeping phone would cut the microphone).
  var wakeLock = null;
  function keepAwake(on) {
    if (on && !wakeLock && navigator.wakeLock) {
      navigator.wakeLock.request("screen").then(function (lock) { wakeLock = lock; }, function () {});
    } else if (!on && wakeLock) {
      wakeLock.release().catch(function () {});
      wakeLock = null;
    }
  }

  function ended(reason) {
    if (root.dataset.state === "ended") return;
    setState("ended");
    keepAwake(false);
    if (ticker) { clearInterval(ticker); ticker = null; }
    onAir.hidden = true;
    stopButton.hidden = true;
    form.hidden = false;
    startButton.disabled = false;
    var text = stopping ? "Đã dừng phát." : "Buổi phát trực tiếp đã kết thúc.";
    say(text + (reason ? " Lý do: " + reason : ""), stopping ? "notice" : "error");
    socket = null;
    sessionId = null;
    stopping = false;
  }

  function connect(path) {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path);
    socket.binaryType = "arraybuffer";
    socket.onmessage = function (event) {
      if (typeof event.data !== "string") return;
      try { show(JSON.parse(event.data)); } catch (e) { /* not a state message */ }
    };
    socket.onclose = function (event) {
      var lost = event.code === 1000 ? "" : "mất kết nối tới trạm (mã " + event.code + ").";
      if (event.code === 1008 && event.reason === "not allowed") {
        lost = "trạm không nhận tiếng từ phiên đăng nhập này (hãy tải lại trang và đăng nhập lại).";
      } else if (event.reason) {
        lost = event.reason;  // the station's own (Vietnamese) reason
      }
      ended(lastReason || (stopping ? "" : lost));
    };
  }

  function post(url, body) {
    return fetch(url, {method: "POST", body: new URLSearchParams(body), credentials: "same-origin",
                       headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
      });
  }

  // Enter in the title must not start a broadcast: only the button does.
  $("live-title").addEventListener("keydown", function (event) {
    if (event.key === "Enter") event.preventDefault();
  });

  micButton.addEventListener("click", function () { openMic().catch(function () {}); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var zones = chosenZones();
    if (zones.length === 0) { say("Hãy chọn ít nhất một vùng phát, hoặc «Mọi vùng».", "error"); return; }
    startButton.disabled = true;
    openMic().then(function () {
      var body = new URLSearchParams();
      body.append("csrf_token", root.dataset.csrf);
      body.append("title", $("live-title").value);
      zones.forEach(function (z) { body.append("zones", z); });
      say("Đang mở buổi phát…", "");
      return post("/live/start", body);
    }).then(function (res) {
      if (!res.ok) {
        say(res.data.detail || ("Trạm từ chối (mã " + res.status + ")."), "error");
        startButton.disabled = false;
        return;
      }
      sessionId = res.data.id;
      lastReason = null;
      root.dataset.session = sessionId;
      form.hidden = true;
      stopButton.hidden = false;
      devicesEl.textContent = "0";
      show({state: res.data.state || "starting"});
      keepAwake(true);
      connect(res.data.ws);
    }).catch(function () {
      if (!mic) { startButton.disabled = false; return; }  // the hint already says why
      say("Không kết nối được máy chủ.", "error");
      startButton.disabled = false;
    });
  });

  stopButton.addEventListener("click", function () {
    if (!sessionId) return;
    stopping = true;
    stopButton.disabled = true;
    var id = sessionId, open = socket;
    post("/live/" + encodeURIComponent(id) + "/stop", {csrf_token: root.dataset.csrf}).then(function (res) {
      if (!res.ok && res.data.detail) lastReason = res.data.detail;
    }).catch(function () {}).then(function () {
      stopButton.disabled = false;
      if (!open) { ended(lastReason); return; }
      open.close(1000);
      setTimeout(function () { if (sessionId === id) ended(lastReason); }, 3000);  // no close handshake
    });
  });

  // The "Mọi vùng" box and single zones exclude each other, so the choice is never ambiguous.
  var every = $("zone-all");
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (!box || box.name !== "zones" || !box.checked) return;
    if (box === every) {
      form.querySelectorAll("input[name=zones]").forEach(function (b) { if (b !== every) b.checked = false; });
    } else if (every) {
      every.checked = false;
    }
  });
  // Leaving the page would end the broadcast: the browser asks first.
  window.addEventListener("beforeunload", function (event) {
    if (sessionId) { event.preventDefault(); event.returnValue = ""; }
  });
  setState("idle");
})();
