"""SCORM packages written for the tests: small HTML/JS SCOs zipped with their manifest."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

MANIFEST_12 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="{identifier}" version="1.0"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>{title}</title>
      {items}
    </organization>
  </organizations>
  <resources>
    {resources}
  </resources>
</manifest>
"""

MANIFEST_2004 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="{identifier}" version="1"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>{title}</title>
      {items}
    </organization>
  </organizations>
  <resources>
    {resources}
  </resources>
</manifest>
"""


@dataclass
class Sco:
    identifier: str
    title: str
    href: str
    html: str = "<html><body>SCO</body></html>"
    scorm_type: str = "sco"
    extra: str = ""  # more XML inside the <item>, e.g. <adlcp:masteryscore>


@dataclass
class Package:
    version: str = "1.2"
    title: str = "Test package"
    identifier: str = "pkg"
    scos: list[Sco] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def manifest(self) -> str:
        type_attr = "scormtype" if self.version == "1.2" else "scormType"
        items = "\n".join(
            f'<item identifier="{s.identifier}" identifierref="res-{s.identifier}">'
            f"<title>{s.title}</title>{s.extra}</item>"
            for s in self.scos
        )
        resources = "\n".join(
            f'<resource identifier="res-{s.identifier}" type="webcontent" '
            f'adlcp:{type_attr}="{s.scorm_type}" href="{s.href}">'
            f'<file href="{s.href.split("?")[0]}"/></resource>'
            for s in self.scos
        )
        template = MANIFEST_12 if self.version == "1.2" else MANIFEST_2004
        return template.format(
            identifier=self.identifier, title=self.title, items=items, resources=resources
        )

    def zip(self, manifest: str | None = None) -> bytes:
        return build_zip(
            {
                "imsmanifest.xml": (manifest or self.manifest()).encode(),
                **{s.href.split("?")[0]: s.html.encode() for s in self.scos},
                **self.files,
            }
        )


def build_zip(files: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16) & 0xFFFF0000
            zf.writestr(info, target)
    return buffer.getvalue()


def simple_12(**attrs: object) -> Package:
    return Package(
        version="1.2",
        scos=[Sco("sco1", "Lesson one", "index.html")],
        files={"css/site.css": b"body { color: #222; }"},
        **attrs,  # type: ignore[arg-type]
    )


def simple_2004(**attrs: object) -> Package:
    return Package(
        version="2004",
        scos=[Sco("sco1", "Lesson one", "index.html")],
        **attrs,  # type: ignore[arg-type]
    )


# --- The SCOs the browser test plays ------------------------------------------------------------

QUIZ_12 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Safety quiz</title></head>
<body>
<h1>Safety quiz (SCORM 1.2)</h1>
<p id="welcome"></p>
<label for="answer">What colour is a fire extinguisher?</label>
<input id="answer" type="text">
<button id="save" type="button">Save and exit</button>
<button id="submit" type="button">Submit answer</button>
<p id="result" role="status"></p>
<script>
function findAPI(win) {
  for (var i = 0; i < 10 && win; i++) { if (win.API) return win.API; if (win.parent === win) break; win = win.parent; }
  return null;
}
var api = findAPI(window);
api.LMSInitialize("");
var entry = api.LMSGetValue("cmi.core.entry");
var data = api.LMSGetValue("cmi.suspend_data");
document.getElementById("welcome").textContent = entry === "resume"
  ? "Welcome back: you were at " + api.LMSGetValue("cmi.core.lesson_location") + "."
  : "Welcome: entry " + (entry || "none") + ", status " + api.LMSGetValue("cmi.core.lesson_status") + ".";
if (data.indexOf("answer=") === 0) document.getElementById("answer").value = data.slice(7);
document.getElementById("save").onclick = function () {
  api.LMSSetValue("cmi.core.lesson_location", "question-1");
  api.LMSSetValue("cmi.suspend_data", "answer=" + document.getElementById("answer").value);
  api.LMSSetValue("cmi.core.lesson_status", "incomplete");
  api.LMSSetValue("cmi.core.exit", "suspend");
  api.LMSSetValue("cmi.core.session_time", "0000:01:30.00");
  var bad = api.LMSSetValue("cmi.core.score.raw", "lots");
  var code = api.LMSGetLastError();
  api.LMSCommit("");
  api.LMSFinish("");
  document.getElementById("result").textContent = "Saved (bad score refused: " + bad + " " + code + ").";
};
document.getElementById("submit").onclick = function () {
  var right = document.getElementById("answer").value.trim().toLowerCase() === "red";
  api.LMSSetValue("cmi.core.score.min", "0");
  api.LMSSetValue("cmi.core.score.max", "100");
  api.LMSSetValue("cmi.core.score.raw", right ? "100" : "0");
  api.LMSSetValue("cmi.core.lesson_status", "completed");
  api.LMSSetValue("cmi.core.exit", "");
  api.LMSSetValue("cmi.core.session_time", "0000:00:45.00");
  api.LMSFinish("");
  document.getElementById("result").textContent = right ? "Correct: well done." : "Not quite.";
};
</script>
</body></html>
"""

LESSON_2004 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lesson</title></head>
<body>
<h1>Lesson (SCORM 2004)</h1>
<p>Fire extinguishers are red.</p>
<button id="done" type="button">I have read this</button>
<script>
function findAPI(win) {
  for (var i = 0; i < 10 && win; i++) { if (win.API_1484_11) return win.API_1484_11; if (win.parent === win) break; win = win.parent; }
  return null;
}
var api = findAPI(window);
api.Initialize("");
document.getElementById("done").onclick = function () {
  api.SetValue("cmi.completion_status", "completed");
  api.SetValue("cmi.exit", "normal");
  api.SetValue("cmi.session_time", "PT20S");
  api.SetValue("adl.nav.request", "continue");
  api.Terminate("");
};
</script>
</body></html>
"""

QUIZ_2004 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quiz</title></head>
<body>
<h1>Check (SCORM 2004)</h1>
<p id="welcome"></p>
<label for="answer">What colour is a fire extinguisher?</label>
<input id="answer" type="text">
<button id="save" type="button">Save and exit</button>
<button id="submit" type="button">Submit answer</button>
<p id="result" role="status"></p>
<script>
function findAPI(win) {
  for (var i = 0; i < 10 && win; i++) { if (win.API_1484_11) return win.API_1484_11; if (win.parent === win) break; win = win.parent; }
  return null;
}
var api = findAPI(window);
api.Initialize("");
var entry = api.GetValue("cmi.entry");
document.getElementById("welcome").textContent = entry === "resume"
  ? "Welcome back: you were at " + api.GetValue("cmi.location") + "."
  : "Welcome: entry " + entry + ".";
var data = api.GetValue("cmi.suspend_data");
if (data.indexOf("answer=") === 0) document.getElementById("answer").value = data.slice(7);
document.getElementById("save").onclick = function () {
  api.SetValue("cmi.location", "question-1");
  api.SetValue("cmi.suspend_data", "answer=" + document.getElementById("answer").value);
  api.SetValue("cmi.completion_status", "incomplete");
  api.SetValue("cmi.exit", "suspend");
  api.SetValue("cmi.session_time", "PT1M30S");
  api.SetValue("cmi.interactions.0.id", "colour");
  api.SetValue("cmi.interactions.0.type", "fill-in");
  api.SetValue("cmi.interactions.0.learner_response", document.getElementById("answer").value);
  api.Commit("");
  api.Terminate("");
  document.getElementById("result").textContent = "Saved.";
};
document.getElementById("submit").onclick = function () {
  var right = document.getElementById("answer").value.trim().toLowerCase() === "red";
  api.SetValue("cmi.score.scaled", right ? "1" : "0");
  api.SetValue("cmi.score.raw", right ? "10" : "0");
  api.SetValue("cmi.score.max", "10");
  api.SetValue("cmi.completion_status", "completed");
  api.SetValue("cmi.success_status", right ? "passed" : "failed");
  api.SetValue("cmi.exit", "normal");
  api.SetValue("cmi.session_time", "PT45S");
  api.Terminate("");
  document.getElementById("result").textContent = right ? "Correct: well done." : "Not quite.";
};
</script>
</body></html>
"""


def browser_12() -> Package:
    return Package(
        version="1.2",
        title="Fire safety 1.2",
        identifier="fire-12",
        scos=[Sco("quiz", "Safety quiz", "quiz.html", QUIZ_12)],
    )


def browser_2004() -> Package:
    return Package(
        version="2004",
        title="Fire safety 2004",
        identifier="fire-2004",
        scos=[
            Sco("lesson", "Lesson", "lesson.html", LESSON_2004),
            Sco("check", "Check", "check/quiz.html", QUIZ_2004),
        ],
    )


# A SCO that saves only when the page goes away (as many authoring tools do).
ON_LEAVE_12 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slides</title></head>
<body>
<h1>Slides</h1>
<p id="where"></p>
<script>
function findAPI(win) {
  for (var i = 0; i < 10 && win; i++) { if (win.API) return win.API; if (win.parent === win) break; win = win.parent; }
  return null;
}
var api = findAPI(window);
api.LMSInitialize("");
document.getElementById("where").textContent =
  "Entry " + (api.LMSGetValue("cmi.core.entry") || "none") + " at " + (api.LMSGetValue("cmi.core.lesson_location") || "the start") + ".";
api.LMSSetValue("cmi.core.lesson_location", "slide-5");
api.LMSSetValue("cmi.core.lesson_status", "incomplete");
window.addEventListener("pagehide", function () {
  api.LMSSetValue("cmi.core.exit", "suspend");
  api.LMSSetValue("cmi.core.session_time", "0000:00:12");
  api.LMSFinish("");
});
</script>
</body></html>
"""


def on_leave_12() -> Package:
    return Package(version="1.2", scos=[Sco("slides", "Slides", "slides.html", ON_LEAVE_12)])
