// The product list's filter form: open on wide screens (on a phone it stays folded
// until asked), and a new sort order applies at once. Without script the panel opens
// from its summary and the Sort button applies the order.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48rem)");
  var panels = document.querySelectorAll("details[data-open-wide]");
  function unfold() {
    if (!wide.matches) { return; }
    for (var i = 0; i < panels.length; i++) { panels[i].open = true; }
  }
  unfold();
  if (wide.addEventListener) { wide.addEventListener("change", unfold); }
  var selects = document.querySelectorAll("select[data-submit-on-change]");
  for (var j = 0; j < selects.length; j++) {
    selects[j].addEventListener("change", function (event) {
      var form = event.target.form;
      if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
    });
  }
  document.documentElement.classList.add("listing-js");
})();
