// Job page: poll the job's progress and move the bar; no build step, no library.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-status") !== "running") return;
  var id = box.getAttribute("data-job");
  var bar = document.getElementById("progress");
  var percent = document.getElementById("percent");
  var message = document.getElementById("job-message");
  function poll() {
    fetch("/api/jobs/" + encodeURIComponent(id), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        percent.textContent = job.percent;
        message.textContent = job.message;
        if (job.status === "running") {
          window.setTimeout(poll, 700);
        } else if (job.status === "done" && job.result && job.result.bulletin_id) {
          window.location.assign("/bulletins/" + Number(job.result.bulletin_id));
        } else {
          window.location.reload();  // the server shows the outcome: the imported bulletins, or why it failed
        }
      })
      .catch(function () {
        message.textContent = "Mất kết nối tới máy chủ, đang thử lại…";
        window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 300);
})();
