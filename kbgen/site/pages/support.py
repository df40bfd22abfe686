"""The static /support/ pages: pick a product, pick a request type, fill in the form.

The markup is in kbgen/theme/pages/support/ (rendered with autoescape: everything from YAML is
text, because form definitions are edited by people, not developers); this module gathers what
each page shows from the form definitions and from the limits the service enforces.

The attachment limits come from the same settings the service reads (KBGEN_MAX_ATTACHMENT_BYTES,
KBGEN_MAX_ATTACHMENTS): build the site with the service's environment and the pages say what the
intake accepts.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from kbgen.facts import page
from kbgen.forms import (DEFAULT_MAX_FILES, HOST_MESSAGE, HOST_PATTERN, PRIORITIES, PRIORITY_RULE, URL_MESSAGE,
                         URL_PATTERN, VERSION_MESSAGE, VERSION_PATTERN, Field, FormCatalog, ProductForm, RequestType)
from kbgen.site.generated import GeneratedPage
from kbgen.templates import render

SUGGESTIONS_TITLE = "These articles might help"


class AttachmentLimits(Protocol):
    """What the pages need of kbgen.settings.Settings: the limits the intake enforces."""

    max_attachment_bytes: int
    max_attachments: int  # per submission, all attachments fields together


def support_pages(catalog: FormCatalog, limits: AttachmentLimits) -> list[GeneratedPage]:
    """Pages for support/, support/<product>/ and support/<product>/<request type>/."""
    pages = [GeneratedPage(page("support") + "index.md", "Open a request",
                           lambda root: render("pages/support/home.html", root=root,
                                               forms=list(catalog.forms.values())))]
    for form in catalog.forms.values():
        pages.append(GeneratedPage(page("support_product", product=form.product.slug) + "index.md",
                                   f"{form.product.name} support",
                                   lambda root, form=form: render("pages/support/product.html", root=root, form=form)))
        for rtype in form.request_types.values():
            pages.append(GeneratedPage(
                page("support_form", product=form.product.slug, request_type=rtype.slug) + "index.md",
                f"{form.product.name}: {rtype.title}",
                lambda root, form=form, rtype=rtype: render_form(form, rtype, root, limits)))
    return pages


def render_form(form: ProductForm, rtype: RequestType, root: str, limits: AttachmentLimits) -> str:
    """The body of a form page; `root` is the relative URL of the site root from the page."""
    return render("pages/support/form.html", root=root, product=form.product, rtype=rtype,
                  fields=[field_view(f, rtype, limits) for f in rtype.fields.values()],
                  priorities=PRIORITIES, priority_rule=PRIORITY_RULE, default_priority=rtype.default_priority)


@dataclass(frozen=True)
class FieldView:
    """One field as its page shows it (kbgen/theme/pages/support/fields.html)."""

    field: Field
    id: str
    help_id: str
    error_id: str
    described_by: str  # ids of its help and error text
    required_now: bool  # `required` in the HTML: always shown and required
    required_later: bool  # required while shown: the script sets `required` (data-required)
    show_values: str  # data-show-values, JSON
    condition: str  # when a conditional field applies, for pages read without the script
    help: str
    input: dict[str, object]  # the type-specific attributes of an <input> (text, email, url, date, ...)
    max_files: int  # attachments: what one field may take, within the service's limit per submission
    max_bytes: int
    suggestions: str  # the title of the article suggestions box, for the summary only


def field_view(f: Field, rtype: RequestType, limits: AttachmentLimits) -> FieldView:
    fid = f"kbf-{f.name}"
    help_id, error_id = f"{fid}-help", f"{fid}-error"
    max_files = min(f.max_files or DEFAULT_MAX_FILES, limits.max_attachments)
    described = ([help_id] if (f.help or f.type == "attachments") else []) + [error_id]
    return FieldView(
        field=f, id=fid, help_id=help_id, error_id=error_id, described_by=" ".join(described),
        required_now=f.required and f.show_if is None, required_later=f.required and f.show_if is not None,
        show_values=json.dumps(list(f.show_if.values)) if f.show_if else "",
        condition=_condition_note(f, rtype) if f.show_if else "",
        help=_help(f, max_files, limits.max_attachment_bytes),
        input=_input_attrs(f), max_files=max_files, max_bytes=limits.max_attachment_bytes,
        suggestions=SUGGESTIONS_TITLE if f.name == "summary" else "",
    )


def _condition_note(f: Field, rtype: RequestType) -> str:
    """Without JavaScript every field shows, so conditional ones say when they apply."""
    cond = rtype.fields[f.show_if.field]
    if cond.type == "consent":
        wanted = "accepted" if "true" in f.show_if.values else "not accepted"
        return f"Only if “{cond.label}” is {wanted}."
    answers = " or ".join(f"“{cond.option_label(v)}”" for v in f.show_if.values)
    return f"Only if the answer to “{cond.label}” is {answers}."


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


def _help(f: Field, max_files: int, max_bytes: int) -> str:
    text = f.help
    if f.type == "attachments":
        limits = f"Up to {max_files} file{'s' if max_files != 1 else ''}, {_size(max_bytes)} each."
        if f.accept:
            limits += " Allowed: " + ", ".join(f.accept) + "."
        text = f"{text} {limits}".strip()
    return text


def _size(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{max(1, round(n / 1024))} KB"
