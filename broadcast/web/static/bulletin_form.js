// Bulletin form (new and edit): live character count, reading preview, a recording makes the text optional.
(function () {
  "use strict";
  var text = document.getElementById("text"), count = document.getElementById("count");
  if (!text) return;
  var needsText = text.required;
  function update() { if (count) count.textContent = "(" + text.value.length + " ký tự)"; }
  text.addEventListener("input", update);
  update();
  var audio = document.getElementById("audio");
  if (audio) {
    audio.addEventListener("change", function () { text.required = needsText && !audio.value; });
  }
  var button = document.getElementById("preview-button"), preview = document.getElementById("preview"),
      unknown = document.getElementById("preview-unknown");
  if (!button || !preview || !unknown) return;
  button.addEventListener("click", function () {
    preview.hidden = false;
    preview.textContent = "Đang chuẩn hoá…";
    fetch("/api/normalize", {method: "POST", headers: {"Content-Type": "application/json"},
                             body: JSON.stringify({text: text.value})})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (!res.ok) { preview.textContent = res.body.detail || "Không xem trước được."; return; }
        preview.textContent = res.body.spoken_text || "(không có nội dung đọc được)";
        var terms = res.body.unknown_abbreviations;
        unknown.hidden = terms.length === 0;
        unknown.textContent = "Máy chưa biết cách đọc: " + terms.join(", ") + ". Từ viết tắt sẽ bị đánh vần " +
          "từng chữ; chữ dính liền với số (như «BĐ9X») hay ký hiệu lạ sẽ bị đọc sai hoặc bỏ qua. Sửa lại nội " +
          "dung hoặc thêm cách đọc ở mục Từ điển của xã.";
      })
      .catch(function () { preview.textContent = "Không kết nối được máy chủ."; });
  });
})();
