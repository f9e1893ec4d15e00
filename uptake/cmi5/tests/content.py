"""cmi5 course packages written for the tests: cmi5.xml documents, zips, and a tiny AU
(HTML + JavaScript) that does what a real AU does: read its launch parameters, POST the fetch
URL, GET LMS.LaunchData, then send initialized, completed, passed and terminated."""

from __future__ import annotations

import io
import zipfile
from typing import Any

NS = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
COURSE_ID = "https://example.com/courses/fire-safety"
AU1 = "https://example.com/courses/fire-safety/aus/intro"
AU2 = "https://example.com/courses/fire-safety/aus/quiz"
BLOCK = "https://example.com/courses/fire-safety/blocks/basics"


def text(tag: str, value: str) -> str:
    return f'<{tag}><langstring lang="en-US">{value}</langstring></{tag}>'


def au(
    au_id: str = AU1,
    *,
    title: str = "Introduction",
    url: str = "https://content.example.com/intro/index.html",
    attrs: str = 'moveOn="CompletedAndPassed" masteryScore="0.8"',
    extra: str = "",
) -> str:
    return (
        f'<au id="{au_id}" {attrs}>{text("title", title)}{text("description", title + " (d)")}'
        f"<url>{url}</url>{extra}</au>"
    )


def block(members: str, block_id: str = BLOCK, title: str = "Basics") -> str:
    return (
        f'<block id="{block_id}">{text("title", title)}{text("description", title)}'
        f"{members}</block>"
    )


def cmi5_xml(members: str | None = None, *, course_id: str = COURSE_ID, ns: str = NS) -> bytes:
    members = au() if members is None else members
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<courseStructure xmlns="{ns}"><course id="{course_id}">'
        f"{text('title', 'Fire safety')}{text('description', 'All about fire.')}</course>"
        f"{members}</courseStructure>"
    ).encode()


def zip_of(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


AU_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fire quiz AU</title></head>
<body>
<h1>Fire quiz</h1>
<p id="status">Loading…</p>
<button id="finish" type="button" disabled>Answer and finish</button>
<script src="au.js"></script>
</body></html>
"""

AU_JS = r"""
(function () {
  var params = new URLSearchParams(window.location.search);
  var endpoint = params.get("endpoint");
  var actor = JSON.parse(params.get("actor"));
  var registration = params.get("registration");
  var activityId = params.get("activityId");
  var status = document.getElementById("status");
  var auth = null, launchData = null;
  function say(text) { status.textContent = text; }
  function uuid() { return crypto.randomUUID(); }
  function xapi(method, path, body) {
    return fetch(endpoint + path, {
      method: method,
      headers: {"Authorization": "Basic " + auth, "X-Experience-API-Version": "1.0.3",
                "Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }
  function statement(verb, result, extraCategory) {
    var context = JSON.parse(JSON.stringify(launchData.contextTemplate));
    context.registration = registration;
    context.contextActivities.category = [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}];
    if (extraCategory) { context.contextActivities.category.push({"id": extraCategory}); }
    var st = {id: uuid(), actor: actor, verb: {id: "http://adlnet.gov/expapi/verbs/" + verb},
              object: {id: activityId, objectType: "Activity"}, context: context,
              timestamp: new Date().toISOString()};
    if (result) { st.result = result; }
    return st;
  }
  function send(st) {
    return xapi("POST", "statements", st).then(function (r) {
      if (r.status !== 200) { throw new Error(st.verb.id + " " + r.status); }
    });
  }
  fetch(params.get("fetch"), {method: "POST"}).then(function (r) { return r.json(); })
    .then(function (body) {
      auth = body["auth-token"];
      var q = "activities/state?stateId=LMS.LaunchData&activityId=" + encodeURIComponent(activityId) +
        "&agent=" + encodeURIComponent(JSON.stringify(actor)) + "&registration=" + registration;
      return xapi("GET", q);
    })
    .then(function (r) { return r.json(); })
    .then(function (doc) {
      launchData = doc;
      return send(statement("initialized"));
    })
    .then(function () {
      say("Ready: mode " + launchData.launchMode + ", moveOn " + launchData.moveOn +
          ", mastery " + launchData.masteryScore + ".");
      document.getElementById("finish").disabled = false;
    })
    .catch(function (e) { say("Error: " + e.message); });
  document.getElementById("finish").addEventListener("click", function () {
    var moveon = "https://w3id.org/xapi/cmi5/context/categories/moveon";
    send(statement("completed", {completion: true, duration: "PT1M"}, moveon))
      .then(function () {
        return send(statement("passed", {success: true, duration: "PT1M",
                                         score: {scaled: 0.9}}, moveon));
      })
      .then(function () {
        return send(statement("terminated", {duration: "PT2M"}));
      })
      .then(function () {
        say("Finished.");
        if (launchData.returnURL) { window.location.href = launchData.returnURL; }
      })
      .catch(function (e) { say("Error: " + e.message); });
  });
})();
"""


def au_package(**kwargs: Any) -> bytes:
    """A zip: cmi5.xml with one local AU (au/index.html) and the AU's files."""
    xml = cmi5_xml(au(url="au/index.html", **kwargs))
    return zip_of({"cmi5.xml": xml, "au/index.html": AU_HTML, "au/au.js": AU_JS})
