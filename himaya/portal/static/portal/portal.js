// Quick exit: leave for a neutral site and replace this page in the history, so
// "back" does not return here. Without JavaScript it is a plain link.
(function () {
  "use strict";
  function leave(event) {
    var link = document.querySelector("[data-quick-exit]");
    if (!link) { return; }
    if (event) { event.preventDefault(); }
    document.body.hidden = true;
    window.location.replace(link.href);
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-quick-exit]") : null;
    if (target) { leave(event); }
  });
  // Escape twice quickly also leaves (a child may not find the button in a hurry).
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 800) { leave(null); }
    lastEscape = now;
  });
})();
