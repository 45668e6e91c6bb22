// "Ghi âm" on the bulletin form: record the microphone (capture.js), show the level and the time, listen
// back, redo. The recording becomes a WAV file (PCM 16-bit mono 16 kHz) in the form's own file input
// (#audio), so it is sent exactly like an uploaded recording: same server path, checks and limits.
// 16 kHz keeps all of speech a horn loudspeaker can reproduce (up to 8 kHz) and fits ten minutes in the
// 20 MB upload limit (48 kHz would fit three and a half); the station makes its 48 kHz clip from it.
(function () {
  "use strict";
  var box = document.getElementById("recorder"), input = document.getElementById("audio");
  if (!box || !input || !window.LoaCapture) return;
  var Cap = window.LoaCapture;
  var $ = function (id) { return document.getElementById(id); };
  var startButton = $("rec-start"), stopButton = $("rec-stop"), againButton = $("rec-again"),
      meterEl = $("rec-meter"), timeEl = $("rec-time"), playback = $("rec-playback"), status = $("rec-status");
  var maxBytes = Number(box.dataset.maxBytes) || 20e6, maxSeconds = Number(box.dataset.maxS) || 900;
  var minSeconds = Number(box.dataset.minS) || 0;
  var WAV_RATE = Cap.SPEECH_RATE;
  var limit = Math.min(maxSeconds * WAV_RATE, Math.floor((maxBytes - 44) / 2));  // samples that fit
  var decimate = Cap.decimator();
  var text = document.getElementById("text");
  var mic = null, frames = [], samples = 0, url = null, showLevel = Cap.meter(meterEl);

  var blocked = Cap.blocker();
  if (blocked) {  // the form keeps working with a chosen file
    $("rec-insecure").hidden = false;
    if (blocked === "old") $("rec-insecure").textContent = Cap.OLD_BROWSER;
    return;
  }
  box.hidden = false;

  function setState(state) {
    box.dataset.state = state;
    startButton.hidden = state !== "idle";
    stopButton.hidden = state !== "recording";
    againButton.hidden = state !== "done";
    playback.hidden = state !== "done";
  }

  // Return a WAV file (RIFF, PCM 16-bit mono) of the Float32 frames.
  function wav(chunks, count) {
    var buffer = new ArrayBuffer(44 + count * 2), view = new DataView(buffer);
    var text = function (offset, s) { for (var i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
    text(0, "RIFF"); view.setUint32(4, 36 + count * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, WAV_RATE, true); view.setUint32(28, WAV_RATE * 2, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true);
    text(36, "data"); view.setUint32(40, count * 2, true);
    var offset = 44;
    chunks.forEach(function (frame) { Cap.writePcm16(view, offset, frame); offset += frame.length * 2; });
    return new Blob([buffer], {type: "audio/wav"});
  }

  function fileName() {
    var d = new Date(), two = function (n) { return (n < 10 ? "0" : "") + n; };
    return "ghi-am-" + d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate()) + "-" + two(d.getHours()) +
      two(d.getMinutes()) + ".wav";
  }

  function onFrame(frame) {
    showLevel(frame);
    if (box.dataset.state !== "recording") return;
    var room = limit - samples;
    if (room <= 0) return;
    var small = decimate(frame);
    var kept = small.length > room ? small.subarray(0, room) : small;
    frames.push(kept);
    samples += kept.length;
    timeEl.textContent = Cap.clock(samples / WAV_RATE);
    if (samples >= limit) {
      stop("Đã đến giới hạn dài nhất của một bản ghi âm, máy tự dừng ghi.");
    }
  }

  function clear() {
    if (url) URL.revokeObjectURL(url);
    url = null;
    playback.removeAttribute("src");
    input.value = "";
    input.dispatchEvent(new Event("change", {bubbles: true}));
  }

  function start() {
    clear();
    frames = [];
    decimate = Cap.decimator();
    samples = 0;
    timeEl.textContent = Cap.clock(0);
    status.textContent = "Đang mở micro… (nếu trình duyệt hỏi, hãy bấm «Cho phép»)";
    startButton.disabled = true;
    Cap.open(onFrame).then(function (opened) {
      mic = opened;
      startButton.disabled = false;
      setState("recording");
      if (text) text.required = false;  // the recording will be the bulletin (bulletin_form.js: a file)
      status.textContent = "Đang ghi âm. Nói rõ ràng, cách micro một gang tay; bấm «Dừng ghi» khi xong.";
      stopButton.focus();
    }, function (err) {
      startButton.disabled = false;
      status.textContent = Cap.micError(err);
    });
  }

  function stop(message) {
    if (box.dataset.state !== "recording") return;
    setState("done");
    if (mic) { mic.stop(); mic = null; }
    meterEl.value = 0;
    var blob = wav(frames, samples), seconds = samples / WAV_RATE;
    frames = [];
    url = URL.createObjectURL(blob);
    playback.src = url;
    var file = new File([blob], fileName(), {type: "audio/wav"});
    var transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", {bubbles: true}));  // the form then makes the text optional
    var short = seconds < minSeconds ? " Bản ghi quá ngắn (dưới " + minSeconds + " giây): hãy «Ghi lại»." : "";
    status.textContent = (message ? message + " " : "") + "Đã ghi " + Cap.clock(seconds) +
      ". Nghe lại bên dưới; bản ghi sẽ được lưu khi bấm «Lưu nháp» hoặc «Gửi duyệt»." + short;
  }

  // Saving while recording saves what was recorded so far (the form data is built after this event).
  if (input.form) {
    input.form.addEventListener("submit", function () {
      if (box.dataset.state === "recording") stop("");
    });
  }
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", function () { stop(""); });
  againButton.addEventListener("click", start);
  input.addEventListener("change", function (event) {
    if (event.isTrusted && box.dataset.state === "done") {  // the officer chose a file instead
      if (url) URL.revokeObjectURL(url);
      url = null;
      playback.removeAttribute("src");
      setState("idle");
      status.textContent = "Đã chọn tệp ghi âm có sẵn thay cho bản vừa ghi.";
    }
  });
  setState("idle");
})();
