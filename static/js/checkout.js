/* Checkout pages: billing-address toggle, reservation countdown, the order summary's
 * disclosure and the payment step.
 *
 * Payment works the same on Stripe.js and on localstripe's emulation of it:
 *   1. the card field becomes a payment method in the browser: Stripe.js's
 *      createPaymentMethod (localstripe's Stripe.js only stubs it: there its createToken
 *      gives the card, which a PaymentIntent takes as its payment method too). No
 *      SetupIntent: a card that needs 3-D Secure is checked once, for the payment;
 *   2. the payment method goes to the shop's payment API, which creates and confirms the
 *      PaymentIntent for the amount it computes itself;
 *   3. on `requires_action` stripe.confirmCardPayment(client_secret) runs 3-D Secure
 *      (the one challenge) and the page asks the shop again; a decline (402) is shown
 *      next to the card field.
 * The page never sends an amount: the shop charges what it computed. Every sentence
 * shown comes from the page's #payment-messages (translated by the shop): errors from
 * Stripe.js are mapped by their code, never shown in Stripe's words.
 *
 * Saved cards (signed-in shoppers): a saved card chosen above the card field skips step
 * 1, its PaymentMethod id goes straight to the payment API (the shop checks it is this
 * shopper's). "Save this card" (data-can-save-card) sends the new card of step 1 with
 * `save_card`: the shop saves it to the shopper's Stripe Customer before it makes the
 * PaymentIntent, so a card that needs 3-D Secure is still checked once, by the payment
 * (no SetupIntent). Where step 1 gave a token (localstripe), the token is sent, which
 * is how a tokenised card is saved.
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

  // The page's sentences (#payment-messages), by key.
  function readMessages() {
    var messages = {};
    var source = document.getElementById("payment-messages");
    if (!source) return messages;
    source.content.querySelectorAll("[data-key]").forEach(function (item) {
      messages[item.dataset.key] = item.textContent.trim();
    });
    return messages;
  }

  // Stripe.js error codes (and decline codes) -> the page's sentence for them. Anything
  // else is a card that could not be used; Stripe's own message is never shown.
  var ERROR_KEYS = {
    incomplete_number: "incomplete", incomplete_expiry: "incomplete", incomplete_cvc: "incomplete",
    incomplete_zip: "incomplete", incomplete: "incomplete",
    invalid_number: "card_number", incorrect_number: "card_number",
    invalid_expiry_month: "expiry", invalid_expiry_year: "expiry",
    invalid_expiry_month_past: "expiry", invalid_expiry_year_past: "expiry",
    expired_card: "expired",
    invalid_cvc: "cvc", incorrect_cvc: "cvc",
    incorrect_zip: "postcode", invalid_zip: "postcode",
    card_declined: "declined", generic_decline: "declined", do_not_honor: "declined",
    lost_card: "declined", stolen_card: "declined", fraudulent: "declined",
    insufficient_funds: "funds",
    processing_error: "bank_busy", try_again_later: "bank_busy",
    payment_intent_authentication_failure: "auth_failed",
    rate_limit: "too_many",
  };

  function errorKey(error, fallback) {
    if (!error) return fallback;
    var key = ERROR_KEYS[error.decline_code] || ERROR_KEYS[error.code];
    if (key) return key;
    if (error.type === "validation_error") return "incomplete";
    if (error.type === "api_connection_error") return "network";
    return fallback;
  }

  // Names for the plain inputs localstripe draws in place of Stripe's card iframe, which
  // has its own labels; real Stripe.js leaves no inputs here, so this does nothing there.
  var EMULATOR_INPUTS = {
    number: { label: "card_number_label", autocomplete: "cc-number", placeholder: "1234 1234 1234 1234" },
    exp_month: { label: "exp_month_label", autocomplete: "cc-exp-month", placeholder: "MM" },
    exp_year: { label: "exp_year_label", autocomplete: "cc-exp-year", placeholder: "YY" },
    cvc: { label: "cvc_label", autocomplete: "cc-csc", placeholder: "CVC" },
    postal_code: { label: "postal_code_label", autocomplete: "postal-code", placeholder: "ZIP" },
  };

  function labelCardInputs(container, messages) {
    container.querySelectorAll("input").forEach(function (input) {
      var part = input.getAttribute("placeholder");
      var known = EMULATOR_INPUTS[part];
      if (!known || input.hasAttribute("aria-label")) return;
      input.dataset.cardPart = part;
      input.setAttribute("aria-label", messages[known.label] || part);
      input.setAttribute("autocomplete", known.autocomplete);
      input.setAttribute("placeholder", known.placeholder);
      if (part !== "postal_code") input.setAttribute("inputmode", "numeric");
    });
    // localstripe writes its name before its inputs: not something to read to a shopper.
    container.querySelectorAll("span").forEach(function (span) {
      if (/^localstripe/.test(span.textContent)) span.setAttribute("aria-hidden", "true");
    });
  }

  // localstripe's plain inputs left empty (Stripe's own field reports this itself, as a
  // validation_error): said before anything is sent, instead of its "Bad request".
  function emulatorFieldsIncomplete(container) {
    var parts = container.querySelectorAll("input[data-card-part]");
    return Array.prototype.some.call(parts, function (input) { return !input.value.trim(); });
  }

  function setupPayment(countdown) {
    var form = document.getElementById("payment-form");
    if (!form) return;
    var text = readMessages();
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

    function say(key) { statusLine.textContent = key ? text[key] || "" : ""; }

    // The saved card chosen to pay with (its PaymentMethod id), or null for a new card.
    function chosenSavedCard() {
      var chosen = form.querySelector("input[name=card_choice]:checked");
      return chosen && chosen.value !== "new" ? chosen.value : null;
    }

    // A sentence next to the card field (or the saved cards): `message` is the shop's own
    // (from its API, already in the shopper's words); otherwise the page's for `key`.
    function showCardError(key, message) {
      var shown = message || text[key] || text.card_unusable;
      if (chosenSavedCard() && savedErrors) {
        savedErrors.textContent = shown;
        savedErrors.hidden = false;
        say("");
        return;
      }
      cardErrors.textContent = shown;
      cardErrors.hidden = false;
      cardBox.classList.add("is-invalid");
      say("");
    }

    function showStripeError(error, fallback) {
      showCardError(errorKey(error, fallback));
    }

    function showProblem(message, withCartLink) {
      problem.textContent = message + " ";
      if (withCartLink) {
        var link = document.createElement("a");
        link.href = urls.cartPageUrl;
        link.textContent = text.return_to_cart;
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
      button.textContent = text.remove_code;
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
      payLabel.textContent = on ? text.processing : payText;
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
      say("received");
      window.location.assign(urls.completeUrl);
      return true;
    }

    // The payment went through but the order is made by the shop's confirmation (or
    // Stripe's webhook a moment later): wait for it, then show the confirmation page.
    async function waitForOrder() {
      say("confirming_order");
      for (var attempt = 0; attempt < 15; attempt++) {
        await new Promise(function (resolve) { setTimeout(resolve, 1000); });
        var cart = await send("GET", urls.cartUrl);
        if (cart.ok && cart.body.status === "completed") break;
      }
      return finish();
    }

    // The shop refused: its API's message is written for shoppers (docs/api.md), except
    // a bare validation failure of the request, which gets the page's own sentence.
    function refused(answer) {
      var error = answer.error;
      var message = error.message;
      if (answer.status === 402) {
        showCardError("declined", message);
        // The shop kept the reservation (and asking to pay extended it): show its time.
        send("GET", urls.cartUrl).catch(function () {});
      } else if (answer.status === 400 && error.code === "checkout_incomplete") {
        window.location.assign(urls.addressUrl);
      } else if (answer.status === 400) {
        showCardError("card_unusable", error.code === "invalid" ? message : "");
      } else if (error.code === "discount_unavailable") {
        // The code's last use went to another shopper, or it expired: nothing was
        // charged. Say why, and offer to pay without it (the page's own remove form).
        showProblem(message || text.failed, false);
        offerToRemoveCode();
      } else if (answer.status === 409) {
        showProblem(message || text.failed, true);
      } else if (answer.status === 429) {
        showProblem(text.too_many, false);
      } else if (answer.status >= 500) {
        showProblem(text.provider_down, false);
      } else {
        showProblem(message || text.failed, false);
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
        say("bank_asks");
        var auth = await stripe.confirmCardPayment(body.client_secret);
        var intent = (auth && auth.paymentIntent) || null;
        if (!auth || auth.error || (intent && intent.status === "requires_payment_method")) {
          showStripeError(auth && auth.error, "auth_failed");
          return false;
        }
        say("confirming");
        return handleAnswer(await send("POST", urls.paymentUrl, {}), false);
      }
      if (body.status === "requires_action") return waitForOrder();
      showCardError("not_through");
      return false;
    }

    // The card field as a payment method id: Stripe.js's createPaymentMethod; where that
    // is only a stub (localstripe), createToken's card, and the token itself (`toSave`,
    // what saving the card takes). {id, toSave} or {error}.
    async function paymentMethodFromCard() {
      var made = await stripe.createPaymentMethod({ type: "card", card: card });
      if (made && made.error) return { error: made.error };
      if (made && made.paymentMethod) return { id: made.paymentMethod.id, toSave: made.paymentMethod.id };
      var tokenised = await stripe.createToken(card);
      if (!tokenised || tokenised.error || !tokenised.token) return { error: (tokenised && tokenised.error) || {} };
      return { id: tokenised.token.card.id, toSave: tokenised.token.id };
    }

    async function pay() {
      clearErrors();
      var savedCard = chosenSavedCard();
      if (savedCard) {
        say("paying");
        return handleAnswer(await send("POST", urls.paymentUrl, { payment_method: savedCard }), true);
      }
      if (emulatorFieldsIncomplete(cardBox)) {
        showCardError("incomplete");
        return false;
      }
      say("checking");
      var method = await paymentMethodFromCard();
      if (method.error || !method.id) {
        showStripeError(method.error, "card_unusable");
        return false;
      }
      say("paying");
      // Saved by the shop before it charges: one payment, one 3-D Secure check.
      var saving = Boolean(saveBox && saveBox.checked && urls.canSaveCard);
      var request = saving ? { payment_method: method.toSave, save_card: true } : { payment_method: method.id };
      return handleAnswer(await send("POST", urls.paymentUrl, request), true);
    }

    if (typeof window.Stripe !== "function") {
      showProblem(text.not_loaded, false);
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
    labelCardInputs(cardBox, text);
    card.on("change", function (event) {
      if (event && event.error) showStripeError(event.error, "card_unusable");
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
          showProblem(text.network, false);
          setBusy(false);
        });
    });
  }

  // The order summary is open in the page (so it shows without JavaScript); on a narrow
  // screen it starts closed above the step, one line with the total, opened on demand.
  function setupSummary() {
    var details = document.querySelector("[data-summary-details]");
    if (!details || !window.matchMedia) return;
    var wide = window.matchMedia("(min-width: 56rem)");
    var sync = function () { details.open = wide.matches; };
    sync();
    if (wide.addEventListener) wide.addEventListener("change", sync);
  }

  setupSummary();
  setupBillingToggle();
  setupPayment(setupCountdown());
})();
