/*
 * Names for the back-office's autocomplete boxes (Django's admin on select2; issue 13 §7,
 * RGAA 11.1, axe aria-input-field-name and label). select2 hides the <select> and shows a
 * combobox named by its selected text only (nothing when empty) and, for a multiple choice,
 * a search field with no name at all (and the selected text is a read-only textbox without
 * a name). Each gets the name of its field: the <label> of the
 * <select> (the change form), else the column header of its table (an inline's row); the
 * dropdown's search field, created at each opening, gets it too.
 */
(function () {
  "use strict";

  function fieldLabel(select) {
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    if (label) {
      return label;
    }
    var table = select.closest("table");
    var name = select.name ? select.name.split("-").pop() : "";
    return table && name ? table.querySelector("th.column-" + name) : null;
  }

  function labelId(label, select) {
    if (!label.id) {
      label.id = (select.id || select.name) + "-name";
    }
    return label.id;
  }

  function nameBoxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var container = select.nextElementSibling;
      var label = fieldLabel(select);
      if (!label || !container || !container.classList.contains("select2")) {
        return;
      }
      var id = labelId(label, select);
      var combobox = container.querySelector(".select2-selection");
      var rendered = container.querySelector(".select2-selection__rendered");
      if (combobox && combobox.getAttribute("role") === "combobox") {
        combobox.setAttribute("aria-labelledby", id + (rendered && rendered.id ? " " + rendered.id : ""));
      }
      // The selected text, a read-only textbox for select2: named by the field too.
      if (rendered && rendered.getAttribute("role") === "textbox") {
        rendered.setAttribute("aria-labelledby", id);
      }
      container.querySelectorAll(".select2-search__field").forEach(function (field) {
        field.setAttribute("aria-labelledby", id);
      });
      select.setAttribute("data-named-by", id);
    });
  }

  // No jQuery, no select2: nothing to name.
  if (window.django && window.django.jQuery) {
    // jQuery runs its ready callbacks in order: this one after admin/js/autocomplete.js's,
    // which builds the boxes (a `load` listener could run before it).
    window.django.jQuery(function () {
      nameBoxes(document);
    });
    document.addEventListener("formset:added", function (event) {
      window.setTimeout(function () { nameBoxes(event.target); }, 0);
    });
    window.django.jQuery(document).on("select2:open select2:select select2:unselect", function (event) {
      var select = event.target;
      var id = select.getAttribute("data-named-by");
      window.setTimeout(function () {
        nameBoxes(select.parentNode);
        if (id) {
          document.querySelectorAll(".select2-container--open .select2-search__field").forEach(function (field) {
            field.setAttribute("aria-labelledby", id);
          });
        }
      }, 0);
    });
  }
})();
