"""Ticket forms: the request types and fields customers fill in, defined once in forms/*.yml.

One definition drives the static form pages (kbgen/site/pages/support.py), the server-side
validation of a submission (FormCatalog.validate) and the API schema (FormCatalog.json_schema),
so the browser and the server can never disagree about what a field accepts.

Layout of the forms folder:
    forms/<product slug>.yml     request types and their fields (slugs from kbgen.site.catalog.PRODUCTS)
    forms/consents/<name>.yml    versioned texts a customer accepts (e.g. server-access.yml)
Priorities are not per product, so they live in priorities.py, not in YAML.

The package, by concern:
    priorities.py   the five priorities, their definitions and the rule
    fields.py       field types and the model: Field, RequestType, ProductForm, ConsentText
    patterns.py     the built-in patterns and the check that a writer's pattern works in browsers
    loader.py       YAML with line numbers; FormDefinitionError (file:line: where: what; what to do)
    definitions.py  forms/*.yml read into the model
    validation.py   a submission checked against its form (Submission, SubmissionInvalid)
    schema.py       the JSON Schema of a ticket's body, for /openapi.json
    catalog.py      FormCatalog, load_catalog, check_forms
Everything public is importable from kbgen.forms itself.
"""
from __future__ import annotations

from kbgen.forms.catalog import FormCatalog, check_forms, load_catalog
from kbgen.forms.fields import (DEFAULT_MAX_FILES, FIELD_TYPES, MAX_FILES_LIMIT, OPTION_MAX_LENGTH,
                                SUMMARY_MAX_LENGTH, ConsentText, Field, Option, ProductForm, RequestType, ShowIf)
from kbgen.forms.loader import FormDefinitionError
from kbgen.forms.patterns import (HOST_MESSAGE, HOST_PATTERN, URL_MESSAGE, URL_PATTERN, VERSION_MESSAGE,
                                  VERSION_PATTERN, browser_regex_problem, pattern_problem)
from kbgen.forms.priorities import DEFAULT_PRIORITY, PRIORITIES, PRIORITY_RULE, PRIORITY_SLUGS, Priority
from kbgen.forms.validation import (ACCEPTED, DATE_RE, FORM_KEYS, IDEMPOTENCY_KEY_RE, NOT_ACCEPTED, ConsentAccepted,
                                    FieldError, Submission, SubmissionInvalid, body_from_form)
from kbgen.mail.addresses import EMAIL_RE  # the one email check; kept here under its old name

__all__ = [
    "ACCEPTED", "DATE_RE", "DEFAULT_MAX_FILES", "DEFAULT_PRIORITY", "EMAIL_RE", "FIELD_TYPES", "FORM_KEYS",
    "HOST_MESSAGE", "HOST_PATTERN", "IDEMPOTENCY_KEY_RE", "MAX_FILES_LIMIT", "NOT_ACCEPTED", "OPTION_MAX_LENGTH",
    "PRIORITIES", "PRIORITY_RULE", "PRIORITY_SLUGS", "SUMMARY_MAX_LENGTH", "URL_MESSAGE", "URL_PATTERN",
    "VERSION_MESSAGE", "VERSION_PATTERN", "ConsentAccepted", "ConsentText", "Field", "FieldError", "FormCatalog",
    "FormDefinitionError", "Option", "Priority", "ProductForm", "RequestType", "ShowIf", "Submission",
    "SubmissionInvalid", "body_from_form", "browser_regex_problem", "check_forms", "load_catalog",
    "pattern_problem",
]
