/* Small form helpers: size presets, confirmations, and image upload with a progress bar. */
(function () {
  "use strict";

  // Size presets on the create-VM form fill the three size fields (and choose the plan a
  // preset stands for, whose traffic limit then applies; a ladder size chooses none).
  document.querySelectorAll(".preset").forEach(function (button) {
    button.addEventListener("click", function () {
      ["vcpus", "memory_mb", "disk_gb", "plan"].forEach(function (name) {
        var input = document.querySelector('[name="' + name + '"]');
        if (input) input.value = button.getAttribute("data-size-" + name) || "";
      });
      document.querySelectorAll(".preset").forEach(function (b) { b.classList.toggle("chosen", b === button); });
    });
  });

  // Buttons with data-confirm ask first.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Upload: XHR so that the browser reports progress; the server answers JSON.
  var form = document.querySelector("form[data-upload]");
  if (!form) return;
  var box = form.querySelector("[data-upload-progress]");
  var bar = box.querySelector(".bar > span");
  var text = box.querySelector("[data-upload-text]");
  var words = form.dataset;
  function mib(bytes) { return (bytes / 1048576).toFixed(1) + " MiB"; }
  function showErrors(errors) {
    form.querySelectorAll(".error, [data-error-for='__all__']").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    Object.keys(errors).forEach(function (field) {
      var messages = errors[field].map(function (e) { return e.message; });
      var input = form.querySelector('[name="' + field + '"]');
      if (field === "__all__" || !input) {
        var callout = document.createElement("div");
        callout.className = "callout callout-bad";
        callout.setAttribute("data-error-for", "__all__");
        callout.textContent = messages.join(" ");
        form.querySelector("[data-upload-errors]").appendChild(callout);
        return;
      }
      var wrap = input.closest(".field");
      wrap.classList.add("has-error");
      messages.forEach(function (message) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = message;
        wrap.appendChild(p);
      });
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var submit = form.querySelector("[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((100 * e.loaded) / e.total);
      bar.style.width = pct + "%";
      text.textContent = pct + "% · " + mib(e.loaded) + " / " + mib(e.total) + " " + words.wordSent;
      if (e.loaded === e.total) text.textContent = words.wordChecking;
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 200 && body.url) { window.location = body.url; return; }
      submit.disabled = false;
      box.hidden = true;
      showErrors(body.errors || { __all__: [{ message: words.wordFailed }] });
    });
    xhr.addEventListener("error", function () {
      submit.disabled = false;
      text.textContent = words.wordFailed;
    });
    submit.disabled = true;
    box.hidden = false;
    bar.style.width = "0%";
    xhr.send(new FormData(form));
  });
})();
