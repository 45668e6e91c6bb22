// Microphone capture shared by "Phát trực tiếp" (live.js) and "Ghi âm" (recorder.js).
//
// One file, two roles. Loaded with audioWorklet.addModule() it registers the "loa-capture" processor,
// which posts the microphone as Float32 frames of 960 samples (20 ms at 48 kHz, mono: the channels are
// averaged). Loaded with <script> it defines window.LoaCapture: open(onFrame) asks for the microphone
// (echo cancellation, noise suppression, automatic gain on), runs it through the processor in a 48 kHz
// AudioContext and calls onFrame(Float32Array) for every frame; plus the helpers both pages use.
(function (scope) {
  "use strict";
  var FRAME = 960;

  if (typeof scope.AudioWorkletProcessor === "function") {  // inside the audio worklet (a module)
    scope.registerProcessor("loa-capture", class extends scope.AudioWorkletProcessor {
      constructor() {
        super();
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
      }

      process(inputs) {
        var channels = inputs[0];
        if (!channels || channels.length === 0) return true;
        var length = channels[0].length, count = channels.length;
        for (var i = 0; i < length; i++) {
          var sum = 0;
          for (var c = 0; c < count; c++) sum += channels[c][i];
          this.frame[this.filled++] = sum / count;
          if (this.filled === FRAME) {
            this.port.postMessage(this.frame, [this.frame.buffer]);
            this.frame = new Float32Array(FRAME);
            this.filled = 0;
          }
        }
        return true;
      }
    });
    return;
  }

  var RATE = 48000;
  var SCRIPT = (document.currentScript && document.currentScript.src) || "/static/capture.js";

  // The Vietnamese reason a microphone could not be opened.
  function micError(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError")
      return "Trình duyệt không cho dùng micro. Hãy bấm vào biểu tượng ổ khoá cạnh địa chỉ trang và cho phép micro.";
    if (name === "NotFoundError" || name === "OverconstrainedError")
      return "Không tìm thấy micro. Hãy cắm micro hoặc tai nghe có micro rồi thử lại.";
    if (name === "NotReadableError")
      return "Micro đang bị chương trình khác dùng. Hãy tắt chương trình đó rồi thử lại.";
    return "Không mở được micro" + (err && err.message ? " (" + err.message + ")." : ".");
  }

  // Return why this page cannot have the microphone: "insecure" (plain HTTP to another machine: browsers
  // give the microphone only to HTTPS and localhost), "old" (no AudioWorklet), or "" when it can.
  function blocker() {
    if (!window.isSecureContext) return "insecure";
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.AudioContext &&
          window.AudioWorkletNode)) return "old";
    return "";
  }

  var OLD_BROWSER = "Trình duyệt này không hỗ trợ thu âm từ micro. Hãy dùng Chrome, Edge, Firefox hoặc Safari bản mới.";

  // Return a function that turns frames at `from` Hz into FRAME-sample frames at 48 kHz for `emit`
  // (linear interpolation; a browser that cannot run the microphone at 48 kHz gets its own rate).
  function resampler(from, emit) {
    if (from === RATE) return emit;
    var step = from / RATE, pos = 0, last = 0, out = new Float32Array(FRAME), filled = 0;
    return function (frame) {
      while (pos < frame.length - 1) {
        var i = Math.floor(pos), t = pos - i, a = i < 0 ? last : frame[i];
        out[filled++] = a + (frame[i + 1] - a) * t;
        if (filled === FRAME) { emit(out); out = new Float32Array(FRAME); filled = 0; }
        pos += step;
      }
      pos -= frame.length;
      last = frame[frame.length - 1];
    };
  }

  // Return a function that turns 48 kHz frames into 16 kHz ones (the mean of each three samples: a low-pass
  // that keeps speech up to 8 kHz, all a horn loudspeaker reproduces). Used for live audio and recordings.
  var SPEECH_RATE = 16000;
  function decimator() {
    var step = RATE / SPEECH_RATE, carry = [];
    return function (frame) {
      var input = carry.length ? Float32Array.from(carry.concat(Array.from(frame))) : frame;
      var count = Math.floor(input.length / step), out = new Float32Array(count);
      for (var i = 0; i < count; i++) {
        var sum = 0;
        for (var k = 0; k < step; k++) sum += input[i * step + k];
        out[i] = sum / step;
      }
      carry = Array.from(input.subarray(count * step));
      return out;
    };
  }

  // Return {context, source}: a 48 kHz context if the browser can feed the microphone into one.
  function contextFor(stream) {
    var context = new AudioContext({sampleRate: RATE});
    try {
      return {context: context, source: context.createMediaStreamSource(stream)};
    } catch (err) {  // e.g. "different sample-rate is not supported": run at the device's rate
      context.close();
      context = new AudioContext();
      return {context: context, source: context.createMediaStreamSource(stream)};
    }
  }

  // Open the microphone; resolve to {stream, context, stop()}; onFrame gets each 20 ms Float32Array
  // (48 kHz mono, whatever rate the browser ran the microphone at).
  function open(onFrame) {
    var constraints = {audio: {channelCount: 1, echoCancellation: true, noiseSuppression: true,
                               autoGainControl: true}};
    return navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      var made;
      try { made = contextFor(stream); } catch (err) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        throw err;
      }
      var context = made.context, deliver = resampler(context.sampleRate, onFrame);
      return context.audioWorklet.addModule(SCRIPT).then(function () {
        var node = new AudioWorkletNode(context, "loa-capture", {numberOfInputs: 1, numberOfOutputs: 1,
                                                                 outputChannelCount: [1]});
        node.port.onmessage = function (event) { deliver(event.data); };
        made.source.connect(node);
        node.connect(context.destination);  // the processor writes nothing: silence, but it keeps running
        return context.resume().then(function () {
          return {
            stream: stream,
            context: context,
            stop: function () {
              node.port.onmessage = null;
              stream.getTracks().forEach(function (track) { track.stop(); });
              return context.close();
            },
          };
        });
      }).catch(function (err) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        context.close();
        throw err;
      });
    });
  }

  // Return the frame's peak (0..1).
  function peak(frame) {
    var top = 0;
    for (var i = 0; i < frame.length; i++) {
      var v = frame[i] < 0 ? -frame[i] : frame[i];
      if (v > top) top = v;
    }
    return top;
  }

  // A level meter that rises at once and falls back gently (what a VU needle does).
  function meter(element) {
    var shown = 0;
    return function (frame) {
      var level = Math.min(1, peak(frame));
      shown = level > shown ? level : shown * 0.85 + level * 0.15;
      element.value = shown;
    };
  }

  // Write Float32 samples as Int16 little-endian into `view` at byte `offset`.
  function writePcm16(view, offset, frame) {
    for (var i = 0; i < frame.length; i++) {
      var s = frame[i] > 1 ? 1 : frame[i] < -1 ? -1 : frame[i];
      view.setInt16(offset + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }

  // Return one frame as Int16 little-endian mono PCM (what the live WebSocket carries).
  function pcm16(frame) {
    var buffer = new ArrayBuffer(frame.length * 2);
    writePcm16(new DataView(buffer), 0, frame);
    return buffer;
  }

  // Return "m:ss" for a number of seconds.
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  window.LoaCapture = {RATE: RATE, FRAME: FRAME, SPEECH_RATE: SPEECH_RATE, decimator: decimator,
                       open: open, blocker: blocker, micError: micError,
                       OLD_BROWSER: OLD_BROWSER,
                       meter: meter, peak: peak, pcm16: pcm16, writePcm16: writePcm16, clock: clock,
                       resampler: resampler};
})(globalThis);
