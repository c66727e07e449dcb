// The insured person's app: the e-voucher's countdown (the code itself comes from the node).
(function () {
  "use strict";
  var timer = null;
  function tick() {
    var qr = document.getElementById("qr");
    var label = document.getElementById("countdown");
    if (!qr || !label) { return; }
    var left = Math.round((Date.parse(qr.dataset.expires) - Date.now()) / 1000);
    if (left <= 0) {
      label.textContent = label.dataset.expired;
      label.classList.add("expired");
      qr.querySelector("svg").style.opacity = "0.2";
      return;
    }
    label.textContent = left + " " + label.dataset.unit;
  }
  function start() {
    if (timer === null) { timer = window.setInterval(tick, 1000); }
    tick();
  }
  document.addEventListener("htmx:afterSwap", start);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
