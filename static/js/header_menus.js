// The header's folding menus on a phone (the account menu, currency and language): native
// <details>, so they work without script. With it they also close as menus do: Escape
// closes the open one and puts the focus back on its summary, and a click or tap outside
// it (or opening the other one) closes it.
(function () {
  "use strict";
  var menus = document.querySelectorAll("details.account-menu, details.header-settings");
  if (!menus.length) { return; }
  function closeAll(except) {
    for (var i = 0; i < menus.length; i++) {
      if (menus[i] !== except) { menus[i].open = false; }
    }
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    for (var i = 0; i < menus.length; i++) {
      if (menus[i].open) {
        menus[i].open = false;
        menus[i].querySelector("summary").focus();
        event.preventDefault();
      }
    }
  });
  document.addEventListener("click", function (event) {
    var inside = event.target.closest ? event.target.closest("details.account-menu, details.header-settings") : null;
    closeAll(inside);
  });
})();
