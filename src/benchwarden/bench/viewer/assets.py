"""The viewer's stylesheet and script, served from /static/ so that the pages' CSP can
forbid every inline script (answers are hostile HTML; escaping is the first line,
the CSP the second)."""

from __future__ import annotations

CSS = """
:root { --fg:#1d2430; --muted:#5b6472; --line:#d9dee5; --accent:#2b6cb0; --bad:#b42318;
  --ok:#2f855a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  margin: 0; }
header { padding: 12px 24px; border-bottom: 1px solid var(--line); background: #f6f8fa; }
header a { color: var(--fg); text-decoration: none; font-weight: 600; }
header .crumbs { color: var(--muted); margin-left: 8px; }
main { padding: 8px 24px 40px; }
h1 { font-size: 19px; } h2 { font-size: 16px; margin-top: 24px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--accent); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center;
  padding: 10px; background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; }
form.filters label { font-size: 13px; }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
.muted, .note { color: var(--muted); font-size: 13px; }
.tag { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px;
  background: #edf2f7; margin-right: 4px; white-space: nowrap; }
.tag.safety { background: #fefcbf; } .tag.withheld { background: #fed7d7; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.col { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 0; }
.col h2 { margin-top: 4px; }
.epoch { border-top: 1px dashed var(--line); padding-top: 6px; margin-top: 6px; }
pre { background: #f6f8fa; padding: 8px; white-space: pre-wrap; word-break: break-word;
  font-size: 12.5px; margin: 4px 0; max-height: 420px; overflow: auto; }
.hidden-answer { background: #fffbea; border: 1px dashed #d69e2e; padding: 8px;
  border-radius: 4px; }
.withheld { background: #fff5f5; border: 1px dashed var(--bad); padding: 8px;
  border-radius: 4px; }
button { font: inherit; padding: 3px 10px; cursor: pointer; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 4px 0; }
dt { color: var(--muted); } dd { margin: 0; }
table.judgments { width: 100%; table-layout: fixed; }
table.judgments pre.rationale { max-height: 160px; margin: 0; }
td.verdict, td.combined { font-weight: 600; }
.stale { color: var(--bad); font-size: 12px; font-weight: 400; }
.turn + .turn { margin-top: 6px; }
.attempt h3 { font-size: 14px; margin: 12px 0 4px; }
ol.timeline { list-style: none; padding: 0; margin: 4px 0; }
ol.timeline li.step { border-left: 4px solid var(--line); padding: 2px 0 2px 8px;
  margin: 4px 0; }
li.step.kind-model { border-left-color: #90cdf4; }
li.step.kind-tool { border-left-color: #a0aec0; }
li.step.step-error { border-left-color: #f6ad55; }
.step-head { display: flex; flex-wrap: wrap; gap: 2px 8px; align-items: baseline; }
.step-n { color: var(--muted); font-variant-numeric: tabular-nums; }
.step-kind { font-size: 12px; text-transform: uppercase; color: var(--muted); }
.step-meta { color: var(--muted); font-size: 12px; margin-left: auto; }
.tag.bad { background: #fed7d7; }
li.step details summary, .attempt details summary { cursor: pointer; color: var(--muted);
  font-size: 12.5px; }
li.step.kind-tests { padding: 4px 8px; border-radius: 0 4px 4px 0; }
.outcome-passed { background: #f0fff4; border-left-color: var(--ok) !important; }
.outcome-failed { background: #fff5f5; border-left-color: var(--bad) !important; }
.outcome-compile { background: #fffaf0; border-left-color: #dd6b20 !important; }
.outcome-timeout { background: #faf5ff; border-left-color: #6b46c1 !important; }
.outcome-sandbox, .outcome-other { background: #f7fafc; border-left-color: #718096 !important; }
.final-tests { border-left: 4px solid var(--line); padding: 4px 8px; margin: 8px 0 4px; }
pre.diff span { display: block; min-height: 1.2em; }
pre.diff .d-add { color: #22543d; background: #e6ffed; }
pre.diff .d-del { color: #742a2a; background: #ffeef0; }
pre.diff .d-hunk { color: #553c9a; } pre.diff .d-file { font-weight: 600; }
"""

# Reveal on click: fetch the answer as JSON and put it in the page as text (never as
# HTML). Filters submit as soon as a select or checkbox changes.
JS = """
document.addEventListener('click', function (ev) {
  var button = ev.target.closest('button[data-reveal]');
  if (!button) { return; }
  var box = button.parentElement;
  button.disabled = true;
  fetch(button.getAttribute('data-reveal'), {headers: {'Accept': 'application/json'}})
    .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
    .then(function (res) {
      var ok = res[0], data = res[1];
      box.textContent = '';
      var pre = document.createElement('pre');
      pre.className = 'revealed';
      pre.textContent = ok ? data.text : data.error;
      box.appendChild(pre);
      (data.notes || []).forEach(function (n) {
        var p = document.createElement('p');
        p.className = 'note';
        p.textContent = n;
        box.appendChild(p);
      });
    })
    .catch(function () { button.disabled = false; });
});
document.querySelectorAll('form.filters select, form.filters input[type=checkbox]')
  .forEach(function (el) {
    el.addEventListener('change', function () { el.form.submit(); });
  });
"""
