/*
 * Live checklist of the password rules and strength word (progressive enhancement).
 *
 * The server renders the same checklist and says the same things without JavaScript; the
 * rules come from accounts/password_policy.py through the "password-rules-config" JSON
 * script (the person's names through "password-rules-personal"), so browser and server never disagree. The checklist is not a live region (a
 * screen reader would read the whole list at every keystroke): once typing pauses
 * (ANNOUNCE_DELAY_MS), a short summary — rules met out of rules, strength word — is written
 * into the field's role="status" node (templates/components/new_password.html). The page
 * always starts neutral: after a refused submit the fields are empty, so are the states.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("password-rules-config");
  var password = document.getElementById("id_password");
  var confirmation = document.getElementById("id_password_confirm");
  if (!configNode || !password) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var specials = config.special;

  // Same folding as core.normalization.name_key: every Latin letter transliterated by the
  // server's table (config.fold: « ı » → « i », « ß » → « ss »), lowercase, letters and
  // digits only.
  var fold = config.fold || {};
  function nameKey(text) {
    var out = "";
    for (var i = 0; i < text.length; i += 1) {
      var c = text.charAt(i);
      out += c.charCodeAt(0) < 128 ? c : (fold[c] || "");
    }
    return out.toLowerCase().replace(/[^a-z0-9]+/g, "");
  }

  function checks(value) {
    var hasSpecial = false;
    for (var i = 0; i < value.length; i += 1) {
      if (specials.indexOf(value.charAt(i)) !== -1) {
        hasSpecial = true;
        break;
      }
    }
    return {
      upper: /\p{Lu}/u.test(value),
      lower: /\p{Ll}/u.test(value),
      digit: /[0-9]/.test(value),
      special: hasSpecial,
      length: value.length >= config.minLength
    };
  }

  function setState(node, ok) {
    node.classList.remove("fr-message--info", "fr-message--valid", "fr-message--error");
    node.classList.add(ok ? "fr-message--valid" : "fr-message--error");
    var state = node.querySelector("[data-rule-state]");
    var text = ok ? " : respecté" : " : non respecté";
    if (state && state.textContent !== text) {
      state.textContent = text;
    }
  }

  var ANNOUNCE_DELAY_MS = 1200;
  function resetState(node) {
    node.classList.remove("fr-message--valid", "fr-message--error");
    node.classList.add("fr-message--info");
    var state = node.querySelector("[data-rule-state]");
    if (state) {
      state.textContent = "";
    }
  }

  var group = document.getElementById("id_password_error");
  var statusNode = document.getElementById("id_password_status");
  var announceTimer = null;

  function announce(met, total, word, leaks) {
    if (!statusNode) {
      return;
    }
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(function () {
      var text = "";
      if (password.value) {
        text = (statusNode.getAttribute("data-summary") || "")
          .replace("%(ok)s", String(met))
          .replace("%(total)s", String(total))
          .replace("%(level)s", word.toLowerCase());
        if (leaks) {
          text += " " + (statusNode.getAttribute("data-personal") || "");
        }
      }
      if (statusNode.textContent !== text) {
        statusNode.textContent = text;
      }
    }, ANNOUNCE_DELAY_MS);
  }
  var strengthNode = group.querySelector("[data-strength]");
  var personalNode = group.querySelector('[data-rule="personal"]');
  // The person's names and identifier, folded (accounts.password_policy.personal_parts).
  var personalConfig = document.getElementById("password-rules-personal");
  var personal = personalConfig ? JSON.parse(personalConfig.textContent) : [];

  function update() {
    var value = password.value;
    var results = checks(value);
    var all = true;
    var met = 0;
    config.rules.forEach(function (rule) {
      var node = group.querySelector('[data-rule="' + rule.key + '"]');
      if (node) {
        if (value) {
          setState(node, results[rule.key]);
        } else {
          resetState(node);
        }
      }
      all = all && results[rule.key];
      met += results[rule.key] ? 1 : 0;
    });
    var folded = nameKey(value);
    var leaks = personal.some(function (part) { return folded.indexOf(part) !== -1; });
    var total = config.rules.length;
    if (personalNode) {
      // Shown from the first display, as the five rules; met while no name is in it.
      total += 1;
      met += leaks ? 0 : 1;
      if (value) {
        setState(personalNode, !leaks);
      } else {
        resetState(personalNode);
      }
    }
    var word = config.words.weak;
    if (all && !leaks) {
      word = value.length >= config.strongLength ? config.words.strong : config.words.medium;
    }
    if (!value) {
      word = "—";
    }
    if (strengthNode.textContent !== word) {
      strengthNode.textContent = word;
    }
    announce(met, total, word, leaks && Boolean(value));
    updateConfirmation();
  }

  var confirmState = confirmation
    ? document.querySelector("#id_password_confirm_error [data-confirm-state]")
    : null;

  function updateConfirmation() {
    if (!confirmState) {
      return;
    }
    if (!confirmation.value) {
      confirmState.classList.add("fr-hidden");
      confirmState.textContent = "";
      return;
    }
    var same = confirmation.value === password.value;
    var text = same
      ? "Les deux mots de passe sont identiques."
      : "Les deux mots de passe ne sont pas identiques.";
    confirmState.classList.remove("fr-hidden");
    confirmState.classList.toggle("fr-message--valid", same);
    confirmState.classList.toggle("fr-message--error", !same);
    if (confirmState.textContent !== text) {
      confirmState.textContent = text;
    }
  }

  password.addEventListener("input", update);
  if (confirmation) {
    confirmation.addEventListener("input", updateConfirmation);
  }
  // A browser may restore typed values (back button): start from what the field holds.
  if (password.value) {
    update();
  }
  // Returning through the back-forward cache shows a page as it was left: start again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      update();
    }
  });
})();
