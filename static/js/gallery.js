// Product page gallery (progressive enhancement: without it the pictures still scroll
// sideways and the small ones are plain links to each). Clicking a small picture scrolls
// the row to that picture without moving the page; choosing a variant shows its picture:
// the variant's own, else the one whose variant shares the attributes that tell the
// pictures apart (a colour picture stays up whatever the size).
(function () {
  "use strict";
  var gallery = document.querySelector("[data-gallery]");
  if (!gallery) return;
  var row = gallery.querySelector(".gallery-slides");
  if (!row) return;
  var slides = Array.prototype.slice.call(row.querySelectorAll(".gallery-slide"));
  var links = Array.prototype.slice.call(gallery.querySelectorAll(".gallery-thumbs a"));
  var dataNode = document.getElementById("gallery-variants");
  var variants = dataNode ? JSON.parse(dataNode.textContent) : {};
  var attributesById = {};
  Object.keys(variants).forEach(function (sku) { attributesById[variants[sku].id] = variants[sku].attributes || {}; });

  function mark(index) {
    links.forEach(function (link, i) {
      if (i === index) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  // While the row scrolls to a chosen picture, the swipe tracking below leaves the marks.
  var target = null;

  function show(index) {
    var slide = slides[index];
    if (!slide) return;
    target = index;
    // Centred, as the row snaps (phones show a little of the next picture).
    var left = slide.offsetLeft - row.offsetLeft - (row.clientWidth - slide.clientWidth) / 2;
    row.scrollTo({ left: Math.max(0, left), behavior: "smooth" });
    mark(index);
  }

  links.forEach(function (link, i) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      show(i);
    });
  });

  // Keep the small pictures in step when the row is swiped.
  var pending = null;
  row.addEventListener("scroll", function () {
    if (pending) window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(function () {
      var centre = row.scrollLeft + row.clientWidth / 2 + row.offsetLeft;
      var nearest = 0;
      slides.forEach(function (slide, i) {
        var distance = Math.abs(slide.offsetLeft + slide.clientWidth / 2 - centre);
        var best = Math.abs(slides[nearest].offsetLeft + slides[nearest].clientWidth / 2 - centre);
        if (distance < best) nearest = i;
      });
      if (target === null) mark(nearest);
      else if (nearest === target) target = null;
    });
  }, { passive: true });

  // The attribute names whose values differ among the variants that have pictures.
  var pictured = slides.map(function (slide) { return attributesById[slide.dataset.variantId] || null; });
  var telling = {};
  pictured.forEach(function (a) {
    if (!a) return;
    Object.keys(a).forEach(function (name) {
      pictured.forEach(function (b) { if (b && b[name] !== a[name]) telling[name] = true; });
    });
  });

  function pictureFor(sku) {
    var chosen = variants[sku];
    if (!chosen) return -1;
    var exact = slides.findIndex(function (slide) { return slide.dataset.variantId === String(chosen.id); });
    if (exact >= 0) return exact;
    var names = Object.keys(telling);
    if (!names.length) return -1;
    return pictured.findIndex(function (a) {
      return a && names.every(function (name) { return a[name] === (chosen.attributes || {})[name]; });
    });
  }

  document.querySelectorAll('input[name="variant"]').forEach(function (input) {
    input.addEventListener("change", function () {
      if (!input.checked) return;
      var index = pictureFor(input.value);
      if (index >= 0) show(index);
    });
  });
})();
