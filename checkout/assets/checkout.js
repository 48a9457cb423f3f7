// Till checkout: improvements of the hosted pages where scripts run. The
// pages work without this file; everything here is optional polish: the
// card brand beside the number, number spacing, the expiry typed as
// "MM / YY", one submission only, the total updated live when the country
// or VAT number changes (GET <form data-quote>?country=…&vatNumber=…, which
// never receives card data), and a processing payment's page reloaded until
// it has an outcome.
(function () {
  "use strict";

  // A payment still processing: look again in a moment.
  var waiting = document.querySelector("[data-refresh]");
  if (waiting) {
    setTimeout(function () { location.reload(); }, 1000 * Number(waiting.getAttribute("data-refresh")));
    return;
  }

  var form = document.getElementById("pay-form");
  if (!form) {
    return;
  }
  var number = document.getElementById("cardNumber");
  var brandOut = document.getElementById("card-brand");
  var expiry = document.getElementById("expiry");
  var cvc = document.getElementById("cvc");
  var country = document.getElementById("country");
  var vat = document.getElementById("vatNumber");
  var pay = document.getElementById("pay-button");
  var totalField = document.getElementById("total-minor");
  var requote = document.getElementById("requote");

  // A form sent back with errors or a decline: start where they are told.
  var problem = document.querySelector(".error-summary, .declined");
  if (problem) {
    problem.setAttribute("tabindex", "-1");
    problem.focus();
  }

  // With live totals the "Update total" button is not needed.
  if (requote && window.fetch) {
    requote.remove();
  }

  var brandNames = { visa: "Visa", mastercard: "Mastercard", amex: "American Express", discover: "Discover" };

  // brandOf detects a card brand from the leading digits.
  function brandOf(d) {
    if (/^4/.test(d)) return "visa";
    if (/^3[47]/.test(d)) return "amex";
    if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(d)) return "mastercard";
    if (/^(6011|65|64[4-9])/.test(d)) return "discover";
    return "";
  }

  // groupNumber spaces digits d as printed on the card: 4-6-5 for
  // American Express, groups of four otherwise.
  function groupNumber(d, brand) {
    if (brand === "amex") {
      d = d.slice(0, 15);
      return [d.slice(0, 4), d.slice(4, 10), d.slice(10)].filter(Boolean).join(" ");
    }
    d = d.slice(0, 19);
    return (d.match(/.{1,4}/g) || []).join(" ");
  }

  // reformat replaces input's value with format(digits), keeping the caret
  // after the same number of digits.
  function reformat(input, format) {
    var v = input.value;
    var caret = input.selectionStart === null ? v.length : input.selectionStart;
    var before = v.slice(0, caret).replace(/\D/g, "").length;
    var out = format(v.replace(/\D/g, ""));
    if (out === v) return;
    input.value = out;
    var pos = 0;
    for (var seen = 0; pos < out.length && seen < before; pos++) {
      if (/\d/.test(out[pos])) seen++;
    }
    if (document.activeElement === input) input.setSelectionRange(pos, pos);
  }

  if (number) {
    var showBrand = function () {
      var b = brandOf(number.value.replace(/\D/g, ""));
      if (brandOut) brandOut.textContent = brandNames[b] || "";
      if (cvc) cvc.maxLength = b === "amex" || b === "" ? 4 : 3;
      return b;
    };
    number.addEventListener("input", function () {
      reformat(number, function (d) { return groupNumber(d, brandOf(d)); });
      showBrand();
    });
    showBrand();
  }

  if (expiry) {
    expiry.addEventListener("input", function (ev) {
      var deleting = ev.inputType && ev.inputType.indexOf("delete") === 0;
      reformat(expiry, function (d) {
        if (d.length === 1 && d > "1") d = "0" + d;
        d = d.slice(0, 4);
        if (d.length > 2) return d.slice(0, 2) + " / " + d.slice(2);
        if (d.length === 2 && !deleting) return d + " / ";
        return d;
      });
    });
  }

  if (cvc) {
    cvc.addEventListener("input", function () {
      reformat(cvc, function (d) { return d.slice(0, 4); });
    });
  }

  // One submission: a second Enter or click while the first is on its way
  // would only meet the first's conflict. The button is disabled after the
  // submit event, so its name and value still go with the form.
  var submitting = false;
  form.addEventListener("submit", function (ev) {
    if (submitting) {
      ev.preventDefault();
      return;
    }
    submitting = true;
    if (pay) {
      pay.setAttribute("aria-disabled", "true");
      pay.textContent = "Processing…";
      setTimeout(function () { pay.disabled = true; }, 0);
    }
  });
  // Back/forward cache: a page shown again must be usable again.
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted && pay) {
      submitting = false;
      pay.disabled = false;
      pay.removeAttribute("aria-disabled");
    }
  });

  // Live totals.
  var quoteURL = form.getAttribute("data-quote");
  var status = document.getElementById("amount-status");
  var pending = 0;

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && typeof text === "string") el.textContent = text;
  }

  // showFieldError sets or clears the error message of the input with id.
  function showFieldError(id, message) {
    var input = document.getElementById(id);
    if (!input) return;
    var box = input.closest(".field");
    var errId = id + "-error";
    var err = document.getElementById(errId);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (s) {
      return s && s !== errId;
    });
    if (message) {
      if (!err) {
        err = document.createElement("p");
        err.className = "field-error";
        err.id = errId;
        var label = box.querySelector("label");
        label.parentNode.insertBefore(err, label.nextSibling);
      }
      err.textContent = message;
      described.push(errId);
      input.setAttribute("aria-invalid", "true");
      box.classList.add("invalid");
    } else {
      if (err) err.remove();
      input.removeAttribute("aria-invalid");
      box.classList.remove("invalid");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function updateQuote() {
    if (!quoteURL || !country || !window.fetch) return;
    var params = new URLSearchParams();
    params.set("country", country.value);
    if (vat && vat.value.trim() !== "") params.set("vatNumber", vat.value.trim());
    var mine = ++pending;
    if (pay) pay.setAttribute("aria-busy", "true");
    fetch(quoteURL + "?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (res) { return res.json(); })
      .then(function (q) {
        if (mine !== pending) return; // an answer to an older question
        if (q.error) {
          if (status) status.textContent = q.error;
          return;
        }
        setText("amount-subtotal", q.subtotal);
        setText("amount-tax-label", q.taxLabel);
        setText("amount-tax", q.tax);
        setText("amount-total", q.total);
        if (pay && !submitting) pay.textContent = q.payLabel;
        if (totalField) totalField.value = String(q.totalMinor);
        var rc = document.getElementById("reverse-charge");
        if (rc) rc.hidden = !q.reverseCharge;
        showFieldError("country", q.field === "country" ? q.message : "");
        showFieldError("vatNumber", q.field === "vatNumber" ? q.message : "");
        if (status) status.textContent = "Total updated: " + q.total;
      })
      .catch(function () {
        // The server checks the total again when paying; nothing is lost.
      })
      .then(function () {
        if (mine === pending && pay) pay.removeAttribute("aria-busy");
      });
  }

  if (country) country.addEventListener("change", updateQuote);
  if (vat) {
    var timer = 0;
    vat.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(updateQuote, 400);
    });
    vat.addEventListener("change", function () {
      clearTimeout(timer);
      updateQuote();
    });
  }
})();
