// The AU ended inside the player's frame: reload the whole player page (fresh progress).
(function () {
  var link = document.getElementById("cmi5-back");
  if (link) {
    (window.top || window).location.href = link.getAttribute("href");
  }
})();
