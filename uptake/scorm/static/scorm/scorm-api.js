/* Uptake's SCORM run-time API: window.API (SCORM 1.2) and window.API_1484_11 (SCORM 2004).
 *
 * The content (in the iframe, same origin) finds the API on this window. Reads and writes are
 * answered at once from a copy of the values, checked against the data model (the element table
 * comes from the server: uptake/scorm/datamodel.py; the value checks below mirror it). Commit and
 * Finish/Terminate send the values set since the last commit to the server, which checks them
 * again and stores them; leaving the page sends what is pending without ending the session (the
 * next launch resumes it).
 */
(function () {
  "use strict";

  var root = document.getElementById("scorm-player");
  var tableNode = document.getElementById("scorm-table");
  if (!root || !tableNode) return;

  var table = JSON.parse(tableNode.textContent);
  var V12 = table.version === "1.2";
  var frame = document.getElementById("scorm-frame");
  var statusNode = document.getElementById("scorm-status");
  var csrf = root.getAttribute("data-csrf");
  var navUrls = JSON.parse(root.getAttribute("data-nav") || "{}");

  var st = {
    launched: false,
    initialized: false,
    terminated: false,
    lastError: 0,
    diagnostic: "",
    values: {},
    pending: [], // [element, value] in the order set
    session: null
  };

  // Messages come translated from the page (data-messages); "{n}" is a number or a reason.
  var messages = JSON.parse(root.getAttribute("data-messages") || "{}");
  function msg(key, value) {
    return (messages[key] || key).replace("{n}", value === undefined ? "" : value);
  }

  function say(text) {
    if (statusNode) statusNode.textContent = text;
  }

  // --- Value checks (mirror of datamodel.type_error) ------------------------------------------
  var RE = {
    decimal: /^-?\d+(\.\d+)?$/,
    real: /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/,
    timespan12: /^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$/,
    time12: /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,2})?$/,
    identifier12: /^[\x21-\x7e]{1,255}$/,
    duration: /^P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,2})?)S)?)?$/,
    timestamp: /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d{1,2})?)?)?(Z|[+-]([01]\d|2[0-3])(:[0-5]\d)?)?)?)?)?$/,
    lang: /^([A-Za-z]{1,3}|[ixIX])(-[A-Za-z0-9]{1,8})*$/,
    localized: /^\{lang=([^}]*)\}/,
    navTarget: /^\{target=([^}\s]+)\}(choice|jump)$/,
    integer: /^-?\d+$/
  };
  var STATUS_12 = ["passed", "completed", "failed", "incomplete", "browsed", "not attempted"];
  var ITYPES_12 = ["true-false", "choice", "fill-in", "matching", "performance", "sequencing", "likert", "numeric"];
  var ITYPES_2004 = ITYPES_12.concat(["long-fill-in", "other"]);
  var NAV = ["continue", "previous", "exit", "exitAll", "abandon", "abandonAll", "suspendAll", "_none_"];

  function inList(list, v) { return list.indexOf(v) !== -1; }

  function typeError(kind, value) {
    var mismatch = V12 ? 405 : 406;
    var outOfRange = V12 ? 405 : 407;
    var parts = kind.split(":");
    var name = parts[0];
    var ok;
    switch (name) {
      case "any": return 0;
      case "string": return value.length <= +parts[1] ? 0 : mismatch;
      case "localized": {
        var m = RE.localized.exec(value);
        if (m && m[1] && !RE.lang.test(m[1])) return mismatch;
        var text = m ? value.slice(m[0].length) : value;
        return text.length <= +parts[1] ? 0 : mismatch;
      }
      case "status12": return inList(STATUS_12.slice(0, -1), value) ? 0 : mismatch;
      case "objstatus12": return inList(STATUS_12, value) ? 0 : mismatch;
      case "exit12": return inList(["time-out", "suspend", "logout", ""], value) ? 0 : mismatch;
      case "exit2004": return inList(["time-out", "suspend", "logout", "normal", ""], value) ? 0 : mismatch;
      case "score12":
        if (value === "") return 0;
        if (!RE.decimal.test(value)) return mismatch;
        return +value >= 0 && +value <= 100 ? 0 : outOfRange;
      case "decimal": return RE.decimal.test(value) ? 0 : mismatch;
      case "int":
        if (!RE.integer.test(value)) return mismatch;
        return +value >= +parts[1] && +value <= +parts[2] ? 0 : outOfRange;
      case "timespan12": return RE.timespan12.test(value) ? 0 : mismatch;
      case "time12": return RE.time12.test(value) ? 0 : mismatch;
      case "identifier12": return RE.identifier12.test(value) ? 0 : mismatch;
      case "itype12": return inList(ITYPES_12, value) ? 0 : mismatch;
      case "itype2004": return inList(ITYPES_2004, value) ? 0 : mismatch;
      case "result12":
        ok = inList(["correct", "wrong", "unanticipated", "neutral"], value) || RE.decimal.test(value);
        return ok ? 0 : mismatch;
      case "result2004":
        ok = inList(["correct", "incorrect", "unanticipated", "neutral"], value) || RE.real.test(value);
        return ok ? 0 : mismatch;
      case "completion2004": return inList(["completed", "incomplete", "not attempted", "unknown"], value) ? 0 : mismatch;
      case "success2004": return inList(["passed", "failed", "unknown"], value) ? 0 : mismatch;
      case "captioning": return inList(["-1", "0", "1"], value) ? 0 : mismatch;
      case "language": return value === "" || RE.lang.test(value) ? 0 : mismatch;
      case "uri": return value.length > 0 && value.length <= 4000 && !/\s/.test(value) ? 0 : mismatch;
      case "timestamp": return RE.timestamp.test(value) ? 0 : mismatch;
      case "duration": return RE.duration.test(value) ? 0 : mismatch;
      case "navrequest": return inList(NAV, value) || RE.navTarget.test(value) ? 0 : mismatch;
      case "real": {
        if (!RE.real.test(value) || !isFinite(+value)) return mismatch;
        var lo = parts[1], hi = parts[2];
        if ((lo !== undefined && lo !== "" && +value < +lo) || (hi !== undefined && hi !== "" && +value > +hi)) return outOfRange;
        return 0;
      }
    }
    return mismatch;
  }

  // --- Paths (mirror of datamodel.get_value / set_value) ---------------------------------------
  function pattern(el) {
    return el.split(".").map(function (p) { return /^\d+$/.test(p) ? "n" : p; }).join(".");
  }
  function indexes(el) {
    var parts = el.split("."), out = [];
    for (var i = 0; i < parts.length; i++) {
      if (/^\d+$/.test(parts[i])) out.push([parts.slice(0, i).join("."), +parts[i]]);
    }
    return out;
  }
  function count(collection) {
    var prefix = collection + ".", highest = -1;
    for (var key in st.values) {
      if (key.indexOf(prefix) === 0) {
        var head = key.slice(prefix.length).split(".")[0];
        if (/^\d+$/.test(head)) highest = Math.max(highest, +head);
      }
    }
    return highest + 1;
  }
  function known(pat) {
    if (table.elements[pat]) return true;
    for (var k in table.elements) if (k.indexOf(pat + ".") === 0) return true;
    return false;
  }
  function num(v) { return v === undefined || v === "" || isNaN(+v) ? null : +v; }

  function evaluated(el) {
    // SCORM 2004: the LMS decides completion and success from thresholds, at every read.
    if (V12) return undefined;
    if (el === "cmi.completion_status") {
      var threshold = num(st.values["cmi.completion_threshold"]);
      var progress = num(st.values["cmi.progress_measure"]);
      if (threshold !== null && progress !== null) return progress >= threshold ? "completed" : "incomplete";
    }
    if (el === "cmi.success_status") {
      var passing = num(st.values["cmi.scaled_passing_score"]);
      if (passing !== null) {
        var scaled = num(st.values["cmi.score.scaled"]);
        return scaled === null ? "unknown" : (scaled >= passing ? "passed" : "failed");
      }
    }
    return undefined;
  }

  function getValue(el) {
    if (!el) return ["", V12 ? 201 : 301];
    var dot = el.lastIndexOf("."), parent = el.slice(0, dot), last = el.slice(dot + 1);
    if (last === "_children") {
      var p = pattern(parent);
      if (table.children[p] !== undefined) return [table.children[p], 0];
      return ["", V12 ? 202 : (known(p) ? 301 : 401)];
    }
    if (last === "_count") {
      var pc = pattern(parent);
      if (inList(table.collections, pc)) return [String(count(parent)), 0];
      return ["", V12 ? 203 : (known(pc) ? 301 : 401)];
    }
    if (!V12 && el === "cmi._version") return ["1.0", 0];
    if (!V12 && el.indexOf("adl.nav.request_valid.choice.") === 0) return [st.values[el] || "false", 0];
    var spec = table.elements[pattern(el)];
    if (!spec) return ["", V12 ? 201 : 401];
    var idx = indexes(el);
    for (var i = 0; i < idx.length; i++) {
      if (idx[i][1] >= count(idx[i][0])) return ["", V12 ? 201 : 301];
    }
    if (spec[0] === "wo") return ["", V12 ? 404 : 405];
    var decided = evaluated(el);
    if (decided !== undefined) return [decided, 0];
    if (Object.prototype.hasOwnProperty.call(st.values, el)) return [st.values[el], 0];
    if (table.defaults[el] !== undefined) return [table.defaults[el], 0];
    if (V12 || spec[0] === "ro") return ["", 0];
    return ["", 403];
  }

  function dependencyError(el, pat, value) {
    var parts = el.split(".");
    if (pat === "cmi.objectives.n.id") {
      if (st.values[el] !== undefined && st.values[el] !== value) return 351;
      for (var key in st.values) {
        if (key !== el && st.values[key] === value && key.indexOf("cmi.objectives.") === 0 &&
            /\.id$/.test(key) && key.split(".").length === 4) return 351;
      }
      return 0;
    }
    if (pat === "cmi.interactions.n.id") return 0;
    if (pat.indexOf("cmi.objectives.n.") === 0 || pat.indexOf("cmi.interactions.n.") === 0) {
      if (st.values[parts.slice(0, 3).join(".") + ".id"] === undefined) return 408;
    }
    if (pat === "cmi.interactions.n.objectives.n.id") {
      var prefix = parts.slice(0, 4).join(".") + ".";
      for (var k in st.values) {
        if (k !== el && k.indexOf(prefix) === 0 && st.values[k] === value) return 351;
      }
    }
    if (pat === "cmi.interactions.n.correct_responses.n.pattern" &&
        st.values[parts.slice(0, 3).join(".") + ".type"] === undefined) return 408;
    return 0;
  }

  function setValue(el, value) {
    if (typeof value === "number" && isFinite(value)) value = String(value);
    if (typeof value !== "string") return V12 ? 405 : 406;
    if (!el) return V12 ? 201 : 351;
    var last = el.slice(el.lastIndexOf(".") + 1);
    if (last === "_children" || last === "_count" || last === "_version") return V12 ? 402 : 404;
    var pat = pattern(el);
    var spec = table.elements[pat];
    if (!spec) {
      if (!V12 && el.indexOf("adl.nav.request_valid.") === 0) return 404;
      return V12 ? 201 : 401;
    }
    if (spec[0] === "ro") return V12 ? 403 : 404;
    var idx = indexes(el);
    for (var i = 0; i < idx.length; i++) {
      if (idx[i][1] > count(idx[i][0])) return V12 ? 201 : 351;
    }
    var error = typeError(spec[1], value);
    if (error) return error;
    if (!V12) {
      var dep = dependencyError(el, pat, value);
      if (dep) return dep;
    }
    if (V12 && pat === "cmi.comments") {
      st.values[el] = ((st.values[el] || "") + value).slice(-4096);
      st.pending.push([el, value]);
      return 0;
    }
    st.values[el] = value;
    for (var j = 0; j < st.pending.length; j++) {
      if (st.pending[j][0] === el) { st.pending[j][1] = value; return 0; }
    }
    st.pending.push([el, value]);
    return 0;
  }

  // --- Talking to the server --------------------------------------------------------------------
  function post(url, body, sync) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url, !sync);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.send(JSON.stringify(body));
    return xhr;
  }

  function problemText(xhr) {
    try {
      var problem = JSON.parse(xhr.responseText);
      var errors = (problem.errors || []).map(function (e) { return e.message; });
      return problem.detail + (errors.length ? " " + errors.join("; ") : "");
    } catch (e) {
      return "The server answered " + xhr.status + ".";
    }
  }

  // While the page goes away (the learner leaves, many SCOs call LMSFinish from their unload
  // handler) browsers refuse synchronous requests: send with keepalive, everything not yet
  // confirmed, so whichever request arrives last the server has all of it.
  var leaving = false;
  function sendKeepalive(finish) {
    var body = JSON.stringify({ session: st.session, changes: st.pending, finish: finish });
    try {
      fetch(root.getAttribute("data-commit-url"), {
        method: "POST",
        keepalive: true,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body
      });
    } catch (e) { /* nothing more can be done while the page goes away */ }
  }
  window.addEventListener("beforeunload", function () {
    leaving = true;
    // If the learner stays after all (another handler cancelled), talk synchronously again.
    setTimeout(function () { leaving = false; }, 1000);
  });
  function flushIfPending() {
    // Leaving without LMSFinish/Terminate: keep what was set; the next launch resumes.
    if (st.initialized && !st.terminated && st.pending.length) sendKeepalive(false);
  }
  var flushWithFrame = false;
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (!flushWithFrame) flushIfPending();
  });
  // The content's own handlers (registered while it loaded) run before ours on its window, so a
  // SCO that finishes as the page goes away sends one request, not two racing ones.
  frame.addEventListener("load", function () {
    try {
      if (frame.contentWindow && frame.src !== "about:blank") {
        frame.contentWindow.addEventListener("pagehide", flushIfPending);
        flushWithFrame = true;
      }
    } catch (e) {
      flushWithFrame = false;
    }
  });

  function store(finish) {
    if (leaving) {
      sendKeepalive(finish);
      if (finish) st.pending = [];
      return true;
    }
    var changes = st.pending;
    var xhr;
    try {
      xhr = post(root.getAttribute("data-commit-url"), { session: st.session, changes: changes, finish: finish }, true);
    } catch (e) {
      st.diagnostic = "The server could not be reached: " + e;
      say(msg("unreachable"));
      return false;
    }
    if (xhr.status !== 200) {
      st.diagnostic = problemText(xhr);
      say(msg("not_saved", st.diagnostic));
      return false;
    }
    st.pending = st.pending.slice(changes.length);
    var result = JSON.parse(xhr.responseText);
    report(result, finish);
    return true;
  }

  function report(result, finish) {
    var bar = document.querySelector("#activity-status .progress");
    if (bar) {
      bar.setAttribute("aria-valuenow", result.progress_percent);
      var fill = bar.querySelector("span");
      if (fill) fill.style.width = result.progress_percent + "%";
    }
    var label = document.querySelector("#activity-status .percent");
    if (label) label.textContent = msg("percent", result.progress_percent);
    if (result.activity_completed || (result.satisfied && result.enrollment_status === "completed")) {
      say(result.enrollment_status === "completed"
        ? msg("course_completed")
        : msg("activity_completed", result.progress_percent));
      root.setAttribute("data-completed", "true");
    } else if (result.satisfied) {
      say(msg("part_done", result.progress_percent));
    } else if (finish) {
      say(msg("saved"));
    }
  }


  function navigateAfterTerminate() {
    var request = st.values["adl.nav.request"] || "_none_";
    var target = null;
    var m = RE.navTarget.exec(request);
    if (m) target = navUrls.choice ? navUrls.choice[m[1]] : null;
    else if (request === "continue") target = navUrls.next;
    else if (request === "previous") target = navUrls.previous;
    else if (inList(["exit", "exitAll", "suspendAll", "abandon", "abandonAll"], request)) target = navUrls.exit;
    if (target) setTimeout(function () { window.location.assign(target); }, 0);
  }

  // --- The two APIs -------------------------------------------------------------------------------
  function fail(code, diagnostic) {
    st.lastError = code;
    st.diagnostic = diagnostic || "";
    return "false";
  }
  function ok(value) {
    st.lastError = 0;
    st.diagnostic = "";
    return value === undefined ? "true" : value;
  }

  function initialize(param) {
    if (param !== "" && param !== undefined) return fail(201, "The argument must be an empty string.");
    if (!st.launched) return fail(V12 ? 101 : 102, "The session has not started yet.");
    if (st.terminated) return fail(V12 ? 101 : 104, "The session has ended.");
    if (st.initialized) return fail(V12 ? 101 : 103, "Already initialized.");
    st.initialized = true;
    return ok();
  }
  function terminate(param) {
    if (param !== "" && param !== undefined) return fail(201, "The argument must be an empty string.");
    if (!st.initialized) return fail(V12 ? 301 : 112);
    if (st.terminated) return fail(V12 ? 101 : 113);
    if (!store(true)) return fail(V12 ? 101 : 111, st.diagnostic);
    st.terminated = true;
    if (!V12) navigateAfterTerminate();
    return ok();
  }
  function get(element) {
    if (!st.initialized) { fail(V12 ? 301 : 122); return ""; }
    if (st.terminated) { fail(V12 ? 101 : 123); return ""; }
    var r = getValue(String(element === undefined ? "" : element));
    st.lastError = r[1];
    st.diagnostic = r[1] ? element + ": " + (table.errors[r[1]] || "") : "";
    return r[0];
  }
  function set(element, value) {
    if (!st.initialized) return fail(V12 ? 301 : 132);
    if (st.terminated) return fail(V12 ? 101 : 133);
    var code = setValue(String(element === undefined ? "" : element), value);
    if (code) return fail(code, element + ": " + (table.errors[code] || ""));
    return ok();
  }
  function commit(param) {
    if (param !== "" && param !== undefined) return fail(201, "The argument must be an empty string.");
    if (!st.initialized) return fail(V12 ? 301 : 142);
    if (st.terminated) return fail(V12 ? 101 : 143);
    if (!store(false)) return fail(V12 ? 101 : 391, st.diagnostic);
    return ok();
  }
  function lastError() { return String(st.lastError); }
  function errorString(code) { return table.errors[String(parseInt(code, 10))] || ""; }
  function diagnostic(code) {
    if (code !== undefined && code !== "" && String(code) !== String(st.lastError)) return errorString(code);
    return st.diagnostic || errorString(st.lastError);
  }

  if (V12) {
    window.API = {
      LMSInitialize: initialize,
      LMSFinish: terminate,
      LMSGetValue: get,
      LMSSetValue: set,
      LMSCommit: commit,
      LMSGetLastError: lastError,
      LMSGetErrorString: errorString,
      LMSGetDiagnostic: diagnostic
    };
  } else {
    window.API_1484_11 = {
      version: "1.0",
      Initialize: initialize,
      Terminate: terminate,
      GetValue: get,
      SetValue: set,
      Commit: commit,
      GetLastError: lastError,
      GetErrorString: errorString,
      GetDiagnostic: diagnostic
    };
  }

  // --- Launch: start the session, then load the content -----------------------------------------
  var preview = root.getAttribute("data-preview");
  if (preview) {
    // An author's preview: the API answers as for a learner, but nothing is sent or stored.
    var start = JSON.parse(preview);
    st.values = start.values;
    st.launched = true;
    store = function () { st.pending = []; return true; };
    sendKeepalive = function () {};
    frame.src = start.content_url;
    return;
  }
  var launch = post(root.getAttribute("data-launch-url"), {}, false);
  launch.onload = function () {
    if (launch.status !== 200) {
      say(msg("not_started", problemText(launch)));
      return;
    }
    var started = JSON.parse(launch.responseText);
    st.values = started.values;
    st.session = started.session;
    st.launched = true;
    frame.src = started.content_url;
  };
  launch.onerror = function () {
    say(msg("not_started", ""));
  };
})();
