/* Checkout pages: billing-address toggle, reservation countdown and the payment step.
 *
 * Payment works the same on Stripe.js and on localstripe's emulation of it:
 *   1. the shop creates a SetupIntent (POST data-setup-intent-url);
 *   2. stripe.confirmCardSetup(secret, {payment_method: {card}}) turns the card into a
 *      PaymentMethod (Stripe runs 3-D Secure here if the card asks for it);
 *   3. the PaymentMethod goes to the shop's payment API, which creates and confirms the
 *      PaymentIntent for the amount it computes itself;
 *   4. on `requires_action` stripe.confirmCardPayment(client_secret) finishes 3-D Secure
 *      and the page asks the shop again; a decline (402) is shown next to the card field.
 * The page never sends an amount: the shop charges what it computed.
 *
 * Saved cards (signed-in shoppers): a saved card chosen above the card field skips steps
 * 1 and 2, its PaymentMethod id goes straight to the payment API (the shop checks it is
 * this shopper's). "Save this card" asks step 1 for a SetupIntent of the shopper's
 * Stripe Customer and, after step 2, has the shop keep the card (data-save-card-url)
 * before paying with it.
 */
(function () {
  "use strict";

  function setupBillingToggle() {
    var same = document.getElementById("id_billing_same");
    var fields = document.querySelector("[data-billing-fields]");
    if (!same || !fields) return;
    var sync = function () { fields.hidden = same.checked; };
    same.addEventListener("change", sync);
    sync();
  }

  // The reservation's time left, counted down from the server's figure (so a wrong
  // clock on the phone does not matter). reset() takes a new figure after the payment
  // request extended the reservation.
  function setupCountdown() {
    var timer = document.querySelector(".reservation-timer[data-seconds-left]");
    if (!timer) return { reset: function () {} };
    var shown = timer.querySelector(".reservation-left");
    var until = timer.querySelector(".reservation-until");
    var expiredNote = document.querySelector(".reservation-expired-note");
    var deadline = Date.now() + parseInt(timer.dataset.secondsLeft, 10) * 1000;
    var handle = null;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      shown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      shown.setAttribute("datetime", "PT" + left + "S");
      timer.classList.toggle("is-low", left < 60);
      if (left === 0) {
        clearInterval(handle);
        timer.hidden = true;
        if (expiredNote) expiredNote.hidden = false;
        var pay = document.getElementById("pay-button");
        if (pay) pay.disabled = true;
      }
    };
    handle = setInterval(tick, 1000);
    tick();
    return {
      reset: function (secondsLeft) {
        if (!(secondsLeft > 0) || timer.hidden) return;
        deadline = Date.now() + secondsLeft * 1000;
        if (until) until.hidden = true;  // the clock time printed by the server is stale now
        tick();
      },
    };
  }

  // Seconds until `expiresAt` by the server's clock (its Date header), not the phone's.
  function secondsUntil(expiresAt, response) {
    var serverNow = Date.parse(response.headers.get("Date") || "");
    var expires = Date.parse(expiresAt || "");
    if (isNaN(serverNow) || isNaN(expires)) return 0;
    // The Date header is whole seconds: err on the short side.
    return Math.floor((expires - serverNow) / 1000) - 1;
  }

  // Names for the plain inputs localstripe draws in place of Stripe's card iframe, which
  // has its own labels; real Stripe.js leaves no inputs here, so this does nothing there.
  var EMULATOR_INPUTS = {
    number: { label: "Card number", autocomplete: "cc-number", placeholder: "Card number" },
    exp_month: { label: "Expiry month (MM)", autocomplete: "cc-exp-month", placeholder: "MM" },
    exp_year: { label: "Expiry year (YY)", autocomplete: "cc-exp-year", placeholder: "YY" },
    cvc: { label: "Security code (CVC)", autocomplete: "cc-csc", placeholder: "CVC" },
    postal_code: { label: "Card postal code", autocomplete: "postal-code", placeholder: "ZIP" },
  };

  function labelCardInputs(container) {
    container.querySelectorAll("input").forEach(function (input) {
      var part = input.getAttribute("placeholder");
      var known = EMULATOR_INPUTS[part];
      if (!known || input.hasAttribute("aria-label")) return;
      input.dataset.cardPart = part;
      input.setAttribute("aria-label", known.label);
      input.setAttribute("autocomplete", known.autocomplete);
      input.setAttribute("placeholder", known.placeholder);
      if (part !== "postal_code") input.setAttribute("inputmode", "numeric");
    });
  }

  function setupPayment(countdown) {
    var form = document.getElementById("payment-form");
    if (!form) return;
    var payButton = document.getElementById("pay-button");
    var payLabel = payButton.querySelector(".pay-label");
    var payText = payLabel.textContent;
    var cardBox = document.getElementById("card-element");
    var cardErrors = document.getElementById("card-errors");
    var newCard = document.getElementById("new-card");
    var savedErrors = document.getElementById("saved-card-errors");
    var saveBox = document.getElementById("save-card");
    var cardChoices = form.querySelectorAll("input[name=card_choice]");
    var problem = document.getElementById("payment-problem");
    var statusLine = document.getElementById("payment-status");
    var csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var urls = form.dataset;
    var busy = false;

    function say(text) { statusLine.textContent = text; }

    // The saved card chosen to pay with (its PaymentMethod id), or null for a new card.
    function chosenSavedCard() {
      var chosen = form.querySelector("input[name=card_choice]:checked");
      return chosen && chosen.value !== "new" ? chosen.value : null;
    }

    function showCardError(text) {
      if (chosenSavedCard() && savedErrors) {
        savedErrors.textContent = text;
        savedErrors.hidden = false;
        say("");
        return;
      }
      cardErrors.textContent = text;
      cardErrors.hidden = false;
      cardBox.classList.add("is-invalid");
      say("");
    }

    function showProblem(text, withCartLink) {
      problem.textContent = text + " ";
      if (withCartLink) {
        var link = document.createElement("a");
        link.href = urls.cartPageUrl;
        link.textContent = "Return to your cart";
        problem.appendChild(link);
      }
      problem.hidden = false;
      say("");
    }

    function offerToRemoveCode() {
      var removeForm = document.querySelector("[data-discount-remove]");
      if (!removeForm) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button-link";
      button.textContent = "Remove the code";
      button.addEventListener("click", function () { removeForm.submit(); });
      problem.appendChild(button);
    }

    function clearErrors() {
      cardErrors.hidden = true;
      cardErrors.textContent = "";
      if (savedErrors) {
        savedErrors.hidden = true;
        savedErrors.textContent = "";
      }
      cardBox.classList.remove("is-invalid");
      problem.hidden = true;
      problem.textContent = "";
    }

    function setBusy(on) {
      busy = on;
      payButton.disabled = on;
      payButton.setAttribute("aria-busy", on ? "true" : "false");
      payLabel.textContent = on ? "Processing…" : payText;
    }

    async function send(method, url, data) {
      var response = await fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: {
          "Accept": "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken,
        },
        body: data === undefined ? undefined : JSON.stringify(data),
      });
      var body = await response.json().catch(function () { return {}; });
      var cart = body && (body.cart || (body.lines && body));
      if (cart && cart.status === "checkout") countdown.reset(secondsUntil(cart.reservation_expires_at, response));
      return { ok: response.ok, status: response.status, body: body, error: (body && body.error) || {} };
    }

    function finish() {
      say("Payment received. Taking you to your order…");
      window.location.assign(urls.completeUrl);
      return true;
    }

    // The payment went through but the order is made by the shop's confirmation (or
    // Stripe's webhook a moment later): wait for it, then show the confirmation page.
    async function waitForOrder() {
      say("Payment received. Confirming your order…");
      for (var attempt = 0; attempt < 15; attempt++) {
        await new Promise(function (resolve) { setTimeout(resolve, 1000); });
        var cart = await send("GET", urls.cartUrl);
        if (cart.ok && cart.body.status === "completed") break;
      }
      return finish();
    }

    function refused(answer) {
      var error = answer.error;
      var message = error.message || "The payment could not be made.";
      if (answer.status === 402) {
        showCardError(message);
        // The shop kept the reservation (and asking to pay extended it): show its time.
        send("GET", urls.cartUrl).catch(function () {});
      } else if (answer.status === 400 && error.code === "checkout_incomplete") {
        window.location.assign(urls.addressUrl);
      } else if (error.code === "discount_unavailable") {
        // The code's last use went to another shopper, or it expired: nothing was
        // charged. Say why, and offer to pay without it (the page's own remove form).
        showProblem(message, false);
        offerToRemoveCode();
      } else if (answer.status === 409) {
        showProblem(message, true);
      } else if (answer.status === 502) {
        showProblem(message + " Nothing was charged; please try again in a moment.", false);
      } else if (answer.status === 429) {
        showProblem("Too many attempts in a short time. Wait a moment and try again.", false);
      } else {
        showProblem(message, false);
      }
      return false;
    }

    async function handleAnswer(answer, mayAuthenticate) {
      if (!answer.ok) return refused(answer);
      var body = answer.body;
      if (body.cart && body.cart.status === "completed") return finish();
      if (body.status === "succeeded" || body.status === "processing" || body.status === "requires_capture") {
        return waitForOrder();
      }
      if (body.status === "requires_action" && mayAuthenticate) {
        say("Your bank asks you to confirm this payment…");
        var auth = await stripe.confirmCardPayment(body.client_secret);
        var intent = auth.paymentIntent;
        if (auth.error || (intent && intent.status === "requires_payment_method")) {
          showCardError((auth.error && auth.error.message) ||
            "Your bank did not confirm the payment. Nothing was charged; try again or use another card.");
          return false;
        }
        say("Confirming your payment…");
        return handleAnswer(await send("POST", urls.paymentUrl, {}), false);
      }
      if (body.status === "requires_action") return waitForOrder();
      showCardError("The payment did not go through. Nothing was charged; try again or use another card.");
      return false;
    }

    async function pay() {
      clearErrors();
      var savedCard = chosenSavedCard();
      if (savedCard) {
        say("Paying…");
        return handleAnswer(await send("POST", urls.paymentUrl, { payment_method: savedCard }), true);
      }
      say("Checking your card…");
      var saving = Boolean(saveBox && saveBox.checked && urls.saveCardUrl);
      var setup = await send("POST", urls.setupIntentUrl, saving ? { save_card: true } : {});
      if (!setup.ok) return refused(setup);
      var result = await stripe.confirmCardSetup(setup.body.client_secret, { payment_method: { card: card } });
      if (result.error || !result.setupIntent) {
        showCardError((result.error && result.error.message) || "This card could not be used. Check the details or use another card.");
        return false;
      }
      var paymentMethod = result.setupIntent.payment_method;
      if (paymentMethod && typeof paymentMethod === "object") paymentMethod = paymentMethod.id;
      if (setup.body.save_card) {
        say("Saving your card…");
        var kept = await send("POST", urls.saveCardUrl, { setup_intent: result.setupIntent.id });
        if (!kept.ok) return refused(kept);
      }
      say("Paying…");
      return handleAnswer(await send("POST", urls.paymentUrl, { payment_method: paymentMethod }), true);
    }

    if (typeof window.Stripe !== "function") {
      showProblem("The card form could not be loaded. Check your connection and reload the page.", false);
      return;
    }
    // Choosing a saved card hides the new-card field (and its "Save" box).
    cardChoices.forEach(function (choice) {
      choice.addEventListener("change", function () {
        if (newCard) newCard.hidden = chosenSavedCard() !== null;
        clearErrors();
        say("");
      });
    });

    var stripe = window.Stripe(urls.publishableKey);
    var card = stripe.elements().create("card");
    card.mount(cardBox);
    labelCardInputs(cardBox);
    card.on("change", function (event) {
      if (event && event.error) showCardError(event.error.message);
      else if (!cardErrors.hidden) { cardErrors.hidden = true; cardBox.classList.remove("is-invalid"); }
    });
    payButton.disabled = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      setBusy(true);
      pay()
        .then(function (leaving) { if (!leaving) setBusy(false); })
        .catch(function () {
          showProblem("We could not reach the shop or the payment provider. Check your connection and try again; you will not be charged twice.", false);
          setBusy(false);
        });
    });
  }

  setupBillingToggle();
  setupPayment(setupCountdown());
})();
