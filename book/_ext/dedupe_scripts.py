"""Sphinx extension: drop a <script> that a page would include twice.

sphinx-thebe adds its inline configuration after the HTML builder has started,
and Sphinx 7 then lists it twice: the second copy redeclares `const THEBE_JS_URL`
and throws a JavaScript error on every page.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the same file or inline body (Sphinx gives the copies filename None and "")
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
