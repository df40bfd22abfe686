"""The static /support/ pages: pick a product, pick a request type, fill in the form.

Every form works without JavaScript (a plain multipart POST to the intake);
theme/assets/kbgen-forms.js adds conditional fields, inline errors that keep
what was typed, and article suggestions. Every value that comes from YAML is
escaped here, because form definitions are edited by people, not developers.
"""
from __future__ import annotations

import json
from html import escape

from kbgen.forms import (PRIORITIES, PRIORITY_RULE, Field, FormCatalog, ProductForm, RequestType,
                         HOST_MESSAGE, HOST_PATTERN, URL_MESSAGE, URL_PATTERN, VERSION_MESSAGE, VERSION_PATTERN)
from kbgen.site.generated import GeneratedPage
from kbgen.settings import Settings

SUGGESTIONS_TITLE = "These articles might help"


def support_pages(catalog: FormCatalog, *,
                  max_attachment_bytes: int = Settings.max_attachment_bytes) -> list[GeneratedPage]:
    """Pages for support/, support/<product>/ and support/<product>/<request type>/."""
    pages = [GeneratedPage("support/index.md", "Open a request", lambda base: _home(catalog, base))]
    for form in catalog.forms.values():
        pages.append(GeneratedPage(f"support/{form.product.slug}/index.md", f"{form.product.name} support",
                                   lambda base, form=form: _product(form, base)))
        for rtype in form.request_types.values():
            pages.append(GeneratedPage(
                f"support/{form.product.slug}/{rtype.slug}/index.md", f"{form.product.name}: {rtype.title}",
                lambda base, form=form, rtype=rtype: render_form(form, rtype, base, max_attachment_bytes)))
    return pages


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _home(catalog: FormCatalog, base: str) -> str:
    cards = "".join(
        f'<a class="kbgen-card" href="{_e(base)}support/{_e(f.product.slug)}/">'
        f'<h2>{_e(f.product.name)}</h2><p>{_e(f.product.tagline)}</p></a>'
        for f in catalog.forms.values())
    return ('<p class="kbgen-lead">Which product is your request about?</p>'
            f'<nav class="kbgen-cards kbgen-support-products" aria-label="Products">{cards}</nav>')


def _product(form: ProductForm, base: str) -> str:
    slug = _e(form.product.slug)
    cards = "".join(
        f'<a class="kbgen-card" href="{_e(base)}support/{slug}/{_e(r.slug)}/">'
        f'<h2>{_e(r.title)}</h2><p>{_e(r.description)}</p></a>'
        for r in form.request_types.values())
    intro = f'<p class="kbgen-lead">{_e(form.intro)}</p>' if form.intro else ""
    return (_breadcrumb(base, [("Open a request", "support/")])
            + intro + '<p>What do you need?</p>'
            + f'<nav class="kbgen-cards kbgen-support-types" data-kbgen-request-types '
              f'aria-label="Request types">{cards}</nav>')


def _breadcrumb(base: str, trail: list[tuple[str, str]]) -> str:
    links = " › ".join(f'<a href="{_e(base + url)}">{_e(text)}</a>' for text, url in trail)
    return f'<nav class="kbgen-breadcrumb" aria-label="Breadcrumb">{links}</nav>'


def render_form(form: ProductForm, rtype: RequestType, base: str,
                max_attachment_bytes: int = Settings.max_attachment_bytes) -> str:
    """The body of a form page; `base` is the relative URL of the site root from the page."""
    product = form.product
    parts = [
        _breadcrumb(base, [("Open a request", "support/"), (product.name, f"support/{product.slug}/")]),
        f'<p class="kbgen-lead">{_e(rtype.description)}</p>',
        f'<form class="kbgen-form" method="post" enctype="multipart/form-data" accept-charset="UTF-8" '
        f'action="{_e(base)}api/tickets" data-kbgen-form data-base="{_e(base)}" '
        f'data-product="{_e(product.slug)}" data-request-type="{_e(rtype.slug)}">',
        # Filled by the script with what the server (or the browser) found wrong; focused then.
        '<div class="kbgen-error-summary" data-kbgen-error-summary role="alert" tabindex="-1" hidden>'
        '<h2>Please check your request</h2><ul></ul></div>',
        f'<input type="hidden" name="product" value="{_e(product.slug)}">',
        f'<input type="hidden" name="request_type" value="{_e(rtype.slug)}">',
        # The script puts a UUID here so a retried submission creates one ticket; without it the server makes one.
        '<input type="hidden" name="idempotency_key" value="">',
        # A follow-up of a closed request arrives as ?related=XC-42 (tickets.new_request_url); the script copies it.
        '<input type="hidden" name="related_to" value="" data-kbgen-related>',
        '<p class="kbgen-related" data-kbgen-related-note hidden></p>',
        '<p class="kbgen-form-note">Fields marked <span class="kbgen-required">(required)</span> must be filled in. '
        'Never write passwords in a request.</p>',
    ]
    for f in rtype.fields.values():
        parts.append(_field(f, rtype, max_attachment_bytes))
    parts.append(_priority(rtype))
    parts.append('<div class="kbgen-status" data-kbgen-status role="status" aria-live="polite" hidden></div>')
    parts.append('<p class="kbgen-actions"><button type="submit" class="md-button md-button--primary">'
                 'Send request</button></p>')
    parts.append("</form>")
    return "\n".join(parts)


def _ids(f: Field) -> tuple[str, str, str]:
    fid = f"kbf-{f.name}"
    return fid, f"{fid}-help", f"{fid}-error"


def _condition_note(f: Field, rtype: RequestType) -> str:
    """Without JavaScript every field shows, so conditional ones say when they apply."""
    cond = rtype.fields[f.show_if.field]
    if cond.type == "consent":
        wanted = "accepted" if "true" in f.show_if.values else "not accepted"
        return f"Only if “{cond.label}” is {wanted}."
    answers = " or ".join(f"“{cond.option_label(v)}”" for v in f.show_if.values)
    return f"Only if the answer to “{cond.label}” is {answers}."


def _field(f: Field, rtype: RequestType, max_bytes: int) -> str:
    fid, help_id, error_id = _ids(f)
    # Fields that can be hidden carry `required` in data-required only: the script sets it while they
    # show; without the script the browser would demand answers to questions that do not apply.
    required_now = f.required and f.show_if is None
    described = [help_id] if (f.help or f.type == "attachments") else []
    described.append(error_id)
    attrs = {
        "id": fid, "name": f.input_name,
        "aria-describedby": " ".join(described),
        "required": required_now,
        "data-required": "true" if f.required and f.show_if is not None else None,
    }
    wrapper = [f'class="kbgen-field kbgen-field--{_e(f.type)}"', f'data-field="{_e(f.name)}"',
               f'data-label="{_e(f.label)}"']
    if f.show_if is not None:
        wrapper.append(f'data-show-field="{_e(f.show_if.field)}" '
                       f'data-show-values="{_e(json.dumps(list(f.show_if.values)))}"')
    marker = ' <span class="kbgen-required" aria-hidden="true">(required)</span>' if f.required else ""
    condition = (f'<p class="kbgen-condition">{_e(_condition_note(f, rtype))}</p>'
                 if f.show_if is not None else "")
    help_html = _help(f, help_id, max_bytes)
    error = f'<p class="kbgen-error" id="{error_id}" data-error-for="{_e(f.input_name)}" aria-live="polite"></p>'

    if f.type == "multi-select":
        boxes = "".join(
            f'<label class="kbgen-choice"><input type="checkbox" id="{fid}-{i}" name="{_e(f.input_name)}" '
            f'value="{_e(o.value)}"> {_e(o.label)}</label>'
            for i, o in enumerate(f.options))
        required = ' data-required="true"' if f.required else ""
        return (f'<fieldset {" ".join(wrapper)}{required} aria-describedby="{_e(" ".join(described))}">'
                f'<legend>{_e(f.label)}{marker}</legend>{condition}{help_html}'
                f'<div class="kbgen-choices">{boxes}</div>{error}</fieldset>')
    if f.type == "consent":
        consent = f.consent
        items = "".join(f"<dt>{_e(h)}</dt><dd>{_e(t)}</dd>" for h, t in consent.items)
        panel = (f'<section class="kbgen-consent-panel" aria-labelledby="{fid}-title">'
                 f'<h3 id="{fid}-title">{_e(consent.title)}</h3>'
                 + (f"<p>{_e(consent.intro)}</p>" if consent.intro else "")
                 + (f"<dl>{items}</dl>" if items else "")
                 + f'<p class="kbgen-consent-version">Version {_e(consent.version)}</p></section>')
        box = _tag("input", {**attrs, "type": "checkbox", "value": "yes"})
        return (f'<div {" ".join(wrapper)}>{condition}{panel}{help_html}'
                f'<div class="kbgen-check">{box}<label for="{fid}">{_e(consent.agreement)}{marker}</label></div>'
                f"{error}</div>")

    label = f'<label for="{fid}">{_e(f.label)}{marker}</label>'
    if f.type == "select":
        choose = f.placeholder or "Choose…"
        options = f'<option value="">{_e(choose)}</option>' + "".join(
            f'<option value="{_e(o.value)}">{_e(o.label)}</option>' for o in f.options)
        control = f"{_tag('select', attrs)}{options}</select>"
    elif f.type == "textarea":
        control = _tag("textarea", {**attrs, "rows": "8" if f.name == "description" else "4",
                                    "minlength": f.min_length, "maxlength": f.max_length,
                                    "placeholder": f.placeholder or None}) + "</textarea>"
    elif f.type == "attachments":
        control = _tag("input", {**attrs, "type": "file", "multiple": (f.max_files or 1) > 1,
                                 "accept": ",".join(f.accept) or None, "data-max-files": f.max_files,
                                 "data-max-bytes": max_bytes})
    else:
        control = _tag("input", {**attrs, **_input_attrs(f)})
    return f'<div {" ".join(wrapper)}>{label}{condition}{help_html}{control}{error}{_suggestions(f)}</div>'


def _suggestions(f: Field) -> str:
    """Knowledge base matches for the summary as it is typed; stays hidden unless the search API answers."""
    if f.name != "summary":
        return ""
    return ('<aside class="kbgen-suggestions" data-kbgen-suggestions hidden aria-live="polite" '
            f'aria-labelledby="kbf-suggestions-title"><p class="kbgen-suggestions-title" id="kbf-suggestions-title">'
            f'{_e(SUGGESTIONS_TITLE)}</p><ul></ul></aside>')


def _input_attrs(f: Field) -> dict[str, object]:
    attrs: dict[str, object] = {"type": "text", "placeholder": f.placeholder or None}
    pattern, message = f.pattern, f.pattern_message
    if f.type == "email":
        attrs.update(type="email", autocomplete="email", spellcheck="false")
    elif f.type == "url":
        attrs.update(type="url", spellcheck="false")
        pattern, message = pattern or URL_PATTERN, message or URL_MESSAGE
    elif f.type == "date":
        attrs["type"] = "date"
    elif f.type == "version":
        attrs.update(spellcheck="false", autocomplete="off")
        pattern, message = pattern or VERSION_PATTERN, message or VERSION_MESSAGE
    elif f.type == "hostname-or-ip":
        attrs.update(spellcheck="false", autocomplete="off", autocapitalize="off")
        pattern, message = HOST_PATTERN, HOST_MESSAGE
    if f.type != "date":
        attrs.update(minlength=f.min_length, maxlength=f.max_length)
    if pattern:
        # `title` is what browsers show for a pattern mismatch; data-pattern-message is what the script shows.
        attrs.update(pattern=pattern, title=message, **{"data-pattern-message": message})
    return attrs


def _help(f: Field, help_id: str, max_bytes: int) -> str:
    text = f.help
    if f.type == "attachments":
        limits = f"Up to {f.max_files} file{'s' if f.max_files != 1 else ''}, {_size(max_bytes)} each."
        if f.accept:
            limits += " Allowed: " + ", ".join(f.accept) + "."
        text = f"{text} {limits}".strip()
    return f'<p class="kbgen-help" id="{help_id}">{_e(text)}</p>' if text else ""


def _size(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{max(1, round(n / 1024))} KB"


def _tag(name: str, attrs: dict[str, object]) -> str:
    """An opening tag; True means a bare boolean attribute, None or False leaves it out."""
    out = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        out.append(_e(key) if value is True else f'{_e(key)}="{_e(value)}"')
    return "<" + " ".join(out) + ">"


def _priority(rtype: RequestType) -> str:
    options = "".join(
        f'<option value="{_e(p.slug)}"{" selected" if p.slug == rtype.default_priority else ""}>{_e(p.name)}</option>'
        for p in PRIORITIES)
    definitions = "".join(f"<dt>{_e(p.name)}</dt><dd>{_e(p.definition)}</dd>" for p in PRIORITIES)
    return ('<div class="kbgen-field kbgen-field--priority" data-field="priority" data-label="Priority">'
            '<label for="kbf-priority">Priority <span class="kbgen-required" aria-hidden="true">(required)</span>'
            '</label>'
            f'<p class="kbgen-help kbgen-priority-rule" id="kbf-priority-rule"><strong>{_e(PRIORITY_RULE)}</strong></p>'
            '<select id="kbf-priority" name="priority" required '
            'aria-describedby="kbf-priority-rule kbf-priority-definitions kbf-priority-error">'
            f"{options}</select>"
            f'<dl class="kbgen-priority-definitions" id="kbf-priority-definitions">{definitions}</dl>'
            '<p class="kbgen-error" id="kbf-priority-error" data-error-for="priority" aria-live="polite"></p></div>')
