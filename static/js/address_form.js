/* Address forms (the checkout's address step, the address book).
 *
 * Progressive enhancement of what the server already does:
 * - choosing another country lays the fields out for it (labels, required marks, the
 *   list of states or prefectures, the postal-code hint). Without JavaScript the form's
 *   "Update" button asks the server for that; here the same request is made in the
 *   background and only the fields below the country are swapped, so focus stays on the
 *   country list and nothing typed is lost (the server puts it back into the new fields);
 * - choosing a saved address hides the new-address fields (the server ignores them then).
 */
(function () {
  "use strict";

  function statusFor(form) {
    var status = form.querySelector("[data-address-status]");
    if (!status) {
      status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("data-address-status", "");
      form.appendChild(status);
    }
    return status;
  }

  // What was typed while the request was on its way wins over what the server echoed.
  function keepTyped(from, into) {
    Array.prototype.forEach.call(from.querySelectorAll("input[type=text], select"), function (old) {
      var twin = into.querySelector('[name="' + old.name + '"]');
      if (!twin || !old.value || twin.value === old.value) return;
      if (twin.tagName === "SELECT") {
        if (twin.querySelector('option[value="' + CSS.escape(old.value) + '"]')) twin.value = old.value;
      } else {
        twin.value = old.value;
      }
    });
  }

  function setupCountry(form, select) {
    var prefix = select.getAttribute("data-address-country");
    var button = form.querySelector('[data-address-update][value="' + prefix + '"]');
    if (button) button.hidden = true;
    var latest = 0;
    select.addEventListener("change", function () {
      var container = form.querySelector('[data-address-fields="' + prefix + '"]');
      var rendered = container && container.querySelector('input[name="' + prefix + '-rendered_country"]');
      if (rendered && rendered.value === select.value) return;  // already laid out for it
      if (!container || !window.fetch || !window.DOMParser) {
        if (button) form.requestSubmit ? form.requestSubmit(button) : button.click();
        return;
      }
      var ticket = ++latest;
      var data = new FormData(form);
      data.set("refresh", prefix);
      container.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (ticket !== latest) return;  // a later choice is on its way
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.querySelector('[data-address-fields="' + prefix + '"]');
          if (!fresh) throw new Error("no address fields in the answer");
          var current = form.querySelector('[data-address-fields="' + prefix + '"]');
          var adopted = document.importNode(fresh, true);
          keepTyped(current, adopted);
          current.replaceWith(adopted);
          var name = select.options[select.selectedIndex] ? select.options[select.selectedIndex].text : "";
          // The sentence comes translated from the page (templates/addresses/_fields.html).
          var holder = form.querySelector("[data-follow-text]");
          var sentence = holder ? holder.getAttribute("data-follow-text") : "The address fields now follow the format of %(country)s.";
          statusFor(form).textContent = sentence.replace("%(country)s", name);
        })
        .catch(function () {
          // Let the server show the page itself.
          if (button) { button.hidden = false; form.requestSubmit ? form.requestSubmit(button) : button.click(); }
        });
    });
  }

  function setupSavedChoice(form, saved) {
    var kind = saved.getAttribute("data-saved-addresses");
    var fresh = form.querySelector('[data-new-address="' + kind + '"]');
    if (!fresh) return;
    var sync = function () {
      var chosen = saved.querySelector('input[type="radio"]:checked');
      fresh.hidden = Boolean(chosen) && chosen.value !== "new";
    };
    Array.prototype.forEach.call(saved.querySelectorAll('input[type="radio"]'), function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  }

  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      var selects = form.querySelectorAll("select[data-address-country]");
      if (!selects.length) return;
      Array.prototype.forEach.call(selects, function (select) { setupCountry(form, select); });
      Array.prototype.forEach.call(form.querySelectorAll("[data-saved-addresses]"), function (saved) {
        setupSavedChoice(form, saved);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
