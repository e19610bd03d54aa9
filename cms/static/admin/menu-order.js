/* The menu's order panel (admin/navigation/list.html).
 *
 * Each item has a handle: drag it with a mouse or finger, or focus it and use the arrow keys
 * (Up/Down move among its siblings, Right puts it in the submenu of the item above, Left takes
 * it back to the top level, after its former parent). The menu has one level of nesting: an
 * item with sub-items never goes under another. Every move is announced through an aria-live
 * region; "Save order" posts the whole order at once (the server checks it again).
 */
(function () {
  "use strict";

  function init() {
    var panel = document.querySelector(".cms-menu-order");
    var tree = document.getElementById("cms-menu-tree");
    var form = document.getElementById("cms-menu-order-form");
    if (!panel || !tree || !form) {
      return;
    }
    var value = document.getElementById("cms-menu-order-value");
    var live = document.getElementById("cms-menu-live");
    var status = document.getElementById("cms-menu-order-status");
    var dragging = null;
    var marker = null;

    function message(name, values) {
      var text = panel.getAttribute("data-" + name + "-message") || "";
      return text.replace(/\{(\w+)\}/g, function (all, key) {
        return values[key] !== undefined ? values[key] : all;
      });
    }

    function nodes(list) {
      return Array.prototype.filter.call(list.children, function (child) {
        return child.classList.contains("cms-menu-node");
      });
    }

    function childList(node) {
      return node.querySelector(":scope > .cms-menu-children");
    }

    function isTop(node) {
      return node.parentElement === tree;
    }

    function hasChildren(node) {
      var list = childList(node);
      return !!list && nodes(list).length > 0;
    }

    /* Give a node the list of sub-items a top-level item has (or drop it for a sub-item). */
    function fitLevel(node) {
      var list = childList(node);
      if (isTop(node) && !list) {
        list = document.createElement("ol");
        list.className = "cms-menu-children";
        node.appendChild(list);
      } else if (!isTop(node) && list && !nodes(list).length) {
        list.remove();
      }
    }

    function serialise() {
      var order = [];
      nodes(tree).forEach(function (node) {
        var id = parseInt(node.getAttribute("data-id"), 10);
        order.push({ id: id, parent: null });
        var list = childList(node);
        if (list) {
          nodes(list).forEach(function (child) {
            order.push({ id: parseInt(child.getAttribute("data-id"), 10), parent: id });
          });
        }
      });
      return JSON.stringify(order);
    }

    var saved = serialise();

    function changed(node, kind) {
      fitLevel(node);
      value.value = serialise();
      status.textContent = value.value === saved ? "" : message("unsaved", {});
      var siblings = nodes(node.parentElement);
      var values = {
        label: node.getAttribute("data-label"),
        position: siblings.indexOf(node) + 1,
        count: siblings.length
      };
      if (!isTop(node)) {
        values.parent = node.parentElement.closest(".cms-menu-node").getAttribute("data-label");
      }
      live.textContent = message(kind, values);
    }

    function focusHandle(node) {
      node.querySelector(":scope > .cms-menu-row > .cms-menu-handle").focus();
    }

    function edge(node) {
      live.textContent = message("edge", { label: node.getAttribute("data-label") });
    }

    /* Move a node by one keyboard step; announce the result or that it cannot move. */
    function step(node, key) {
      var list = node.parentElement;
      var siblings = nodes(list);
      var index = siblings.indexOf(node);
      var kind = "moved";
      if (key === "ArrowUp" && index > 0) {
        list.insertBefore(node, siblings[index - 1]);
      } else if (key === "ArrowDown" && index < siblings.length - 1) {
        list.insertBefore(node, siblings[index + 1].nextSibling);
      } else if (key === "ArrowRight" && isTop(node) && index > 0 && !hasChildren(node)) {
        var parent = siblings[index - 1];
        fitLevel(parent);
        childList(parent).appendChild(node);
        kind = "nested";
      } else if (key === "ArrowLeft" && !isTop(node)) {
        var former = list.closest(".cms-menu-node");
        tree.insertBefore(node, former.nextSibling);
        kind = "unnested";
      } else {
        edge(node);
        return;
      }
      changed(node, kind);
      focusHandle(node);
    }

    /* Where a drop at (x, y) would put the dragged node: {node, place} or null. */
    function dropTarget(x, y) {
      var hit = document.elementFromPoint(x, y);
      var row = hit && hit.closest(".cms-menu-row");
      if (!row || !tree.contains(row)) {
        return null;
      }
      var node = row.parentElement;
      if (node === dragging || dragging.contains(node)) {
        return null;
      }
      var box = row.getBoundingClientRect();
      var lower = y > box.top + box.height / 2;
      // Dropped on the right part of a top-level row's lower half: into its submenu.
      if (lower && isTop(node) && x > box.left + 48 && !hasChildren(dragging)) {
        return { node: node, place: "inside" };
      }
      if (!isTop(node) && hasChildren(dragging)) {
        return null;
      }
      return { node: node, place: lower ? "after" : "before" };
    }

    function showMarker(target) {
      tree.querySelectorAll(".cms-drop-before, .cms-drop-after, .cms-drop-inside")
        .forEach(function (row) {
          row.classList.remove("cms-drop-before", "cms-drop-after", "cms-drop-inside");
        });
      marker = target;
      if (target) {
        target.node.querySelector(":scope > .cms-menu-row").classList.add("cms-drop-" + target.place);
      }
    }

    function drop(target) {
      var node = dragging;
      var wasTop = isTop(node);
      if (target.place === "inside") {
        fitLevel(target.node);
        childList(target.node).insertBefore(node, childList(target.node).firstChild);
      } else if (target.place === "before") {
        target.node.parentElement.insertBefore(node, target.node);
      } else {
        target.node.parentElement.insertBefore(node, target.node.nextSibling);
      }
      var kind = isTop(node) === wasTop ? "moved" : isTop(node) ? "unnested" : "nested";
      changed(node, kind);
      focusHandle(node);
    }

    tree.addEventListener("keydown", function (event) {
      var handle = event.target.closest(".cms-menu-handle");
      var keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
      if (!handle || keys.indexOf(event.key) === -1) {
        return;
      }
      event.preventDefault();
      step(handle.closest(".cms-menu-node"), event.key);
    });

    tree.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest(".cms-menu-handle");
      if (!handle || event.button !== 0) {
        return;
      }
      event.preventDefault();
      dragging = handle.closest(".cms-menu-node");
      dragging.classList.add("cms-dragging");
      handle.setPointerCapture(event.pointerId);
      live.textContent = message("grabbed", { label: dragging.getAttribute("data-label") });
    });

    tree.addEventListener("pointermove", function (event) {
      if (dragging) {
        showMarker(dropTarget(event.clientX, event.clientY));
      }
    });

    function endDrag(apply) {
      if (!dragging) {
        return;
      }
      var target = marker;
      showMarker(null);
      dragging.classList.remove("cms-dragging");
      if (apply && target) {
        drop(target);
      }
      dragging = null;
    }

    tree.addEventListener("pointerup", function () {
      endDrag(true);
    });
    tree.addEventListener("pointercancel", function () {
      endDrag(false);
    });

    value.value = saved;
    tree.querySelectorAll(".cms-menu-handle").forEach(function (handle) {
      handle.hidden = false;
    });
    panel.classList.add("cms-menu-sortable");
    form.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
