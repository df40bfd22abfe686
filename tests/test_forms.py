"""Ticket form definitions: the real forms/ folder, definition errors, submission validation, API schema."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from kbgen.site.catalog import PRODUCTS, SOFTWARE
from kbgen.forms import (PRIORITIES, PRIORITY_RULE, SUMMARY_MAX_LENGTH, FormDefinitionError, SubmissionInvalid,
                         body_from_form, check_forms, load_catalog)

REPO = Path(__file__).resolve().parent.parent
FORMS = REPO / "forms"

CONSENT = """\
version: "2026-01"
title: Server access conditions
intro: Read before we connect.
items:
  - heading: Backups are your responsibility
    text: Take a backup first.
agreement: I accept the server access conditions.
"""

# A product form exercising every field type, used to pin validation without depending on forms/ wording.
SAMPLE = """\
request_types:
  bug-report:
    title: Bug report
    description: A defect you can reproduce.
    fields:
      summary: {type: text, label: Summary, required: true, max_length: 200}
      description: {type: textarea, label: Description, required: true, min_length: 10}
      version: {type: version, label: Version, required: true}
      serial:
        type: text
        label: Serial
        pattern: '[A-Z]{2}-[0-9]{4}'
        pattern_message: Write it like XC-1234.
      deployment:
        type: select
        label: Deployment
        required: true
        options: [{value: on-premise, label: On premise}, {value: cloud, label: Cloud}]
      channels: {type: multi-select, label: Channels, options: [voice, chat, email]}
      contact: {type: email, label: Contact email}
      page: {type: url, label: Page}
      started: {type: date, label: Started on}
      needs_access:
        type: select
        label: Does this request need access to your server?
        required: true
        options: ["yes", "no"]
      host:
        type: hostname-or-ip
        label: Server
        required: true
        show_if: {field: needs_access, equals: "yes"}
      access_consent:
        type: consent
        consent: server-access
        required: true
        show_if: {field: needs_access, in: ["yes"]}
      logs: {type: attachments, label: Logs, max_files: 2, accept: [.log, .txt]}
      screenshots: {type: attachments, label: Screenshots, required: true, max_files: 1}
  remote-assistance:
    title: Remote assistance
    description: A session on your server.
    fields:
      summary: {type: text, label: Summary, required: true}
      description: {type: textarea, label: Description}
      access_consent: {type: consent, consent: server-access, required: true}
"""


def write_forms(root: Path, files: dict[str, str]) -> Path:
    forms = root / "forms"
    for name, text in files.items():
        path = forms / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return forms


@pytest.fixture(scope="module")
def real():
    return load_catalog(FORMS)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    forms = write_forms(tmp_path_factory.mktemp("sample"), {"xcally.yml": SAMPLE,
                                                            "consents/server-access.yml": CONSENT})
    return load_catalog(forms)


def good(**fields) -> dict:
    body = {"product": "xcally", "request_type": "bug-report", "priority": "high",
            "fields": {"summary": "  Calls drop after 30 seconds ", "description": "Every inbound call drops.",
                       "version": "3.41.2", "deployment": "cloud", "needs_access": "no"},
            "attachments": {"screenshots": 1}}
    body["fields"].update(fields)
    return body


def errors_of(catalog, body) -> dict[str, str]:
    with pytest.raises(SubmissionInvalid) as caught:
        catalog.validate(body)
    return {e.field: e.message for e in caught.value.errors}


# --------------------------------------------------------------------------- the real definitions


def test_every_product_has_a_valid_form_file(real):
    assert check_forms(FORMS) == []
    assert list(real.forms) == [p.slug for p in PRODUCTS]


@pytest.mark.parametrize("product", [p.slug for p in SOFTWARE])
def test_software_offers_the_usual_request_types(real, product):
    types = real.forms[product].request_types
    for slug in ("technical-issue", "bug-report", "feature-request", "remote-assistance"):
        assert slug in types
    assert "installation-upgrade" in types or "setup" in types


def test_license_offers_license_requests(real):
    assert list(real.forms["license"].request_types) == ["new-license", "renewal", "activation-problem",
                                                         "server-move"]
    # The product choice comes from kbgen.catalog, not a copy in YAML.
    field = real.request_type("license", "renewal").fields["licensed_product"]
    assert [o.label for o in field.options] == [p.name for p in SOFTWARE]


def test_every_request_type_has_a_summary_and_a_description(real):
    for form in real.forms.values():
        for rtype in form.request_types.values():
            summary, description = rtype.fields["summary"], rtype.fields["description"]
            assert summary.type == "text" and summary.required and summary.max_length <= SUMMARY_MAX_LENGTH
            assert description.type == "textarea"


def test_xcally_requires_the_versioned_server_access_consent_when_the_server_is_needed(real):
    for rtype in real.forms["xcally"].request_types.values():
        consent = [f for f in rtype.fields.values() if f.type == "consent"]
        if rtype.slug == "feature-request":
            continue
        assert consent and consent[0].required and consent[0].consent.version == "2026-01"
        if rtype.slug in ("remote-assistance", "installation-upgrade"):
            assert consent[0].show_if is None  # always on the server
        else:
            assert consent[0].show_if.field == "server_access"
    text = real.consents["server-access"]
    headings = " ".join(h for h, _ in text.items).lower()
    for topic in ("authorization", "files and configuration", "backup", "credentials"):
        assert topic in headings


def test_real_xcally_submission_records_the_consent_version(real):
    body = {"product": "xcally", "request_type": "technical-issue", "priority": "highest",
            "fields": {"summary": "All queues are down", "description": "No call reaches any agent since 9:00.",
                       "motion_version": "3.41.2", "deployment": "on-premise", "affected_users": "all",
                       "server_access": "yes", "server_host": "pbx.example.com", "remote_method": "ssh"}}
    assert errors_of(real, body) == {
        "fields.server_access_consent": "Accept the server access conditions (version 2026-01) to continue."}
    body["fields"]["server_access_consent"] = "on"
    submission = real.validate(body)
    [consent] = submission.consents
    assert (consent.field, consent.name, consent.version) == ("server_access_consent", "server-access", "2026-01")
    assert consent.text_sha256 == real.consents["server-access"].text_sha256
    assert submission.summary == "All queues are down" and submission.priority == "highest"


def test_priorities_are_defined_once_from_highest_to_lowest():
    assert [p.slug for p in PRIORITIES] == ["highest", "high", "medium", "low", "lowest"]
    assert all(p.definition for p in PRIORITIES)
    assert PRIORITY_RULE.startswith("Use Highest only if your services are down")


# --------------------------------------------------------------------------- definition errors


def problems_for(tmp_path, files: dict[str, str]) -> list[str]:
    forms = write_forms(tmp_path, {"consents/server-access.yml": CONSENT, **files})
    with pytest.raises(FormDefinitionError) as caught:
        load_catalog(forms)
    assert check_forms(forms) == caught.value.problems
    return caught.value.problems


def minimal(fields: str = "", extra_type: str = "") -> str:
    """A valid xcally.yml; `fields` is added under bug-report's fields (8 spaces of indentation)."""
    return (textwrap.dedent("""\
        request_types:
          bug-report:
            title: Bug report
            description: A defect.
            fields:
              summary: {type: text, label: Summary, required: true}
              description: {type: textarea, label: Description}
        """) + textwrap.indent(textwrap.dedent(fields), " " * 6) + extra_type)


def test_a_minimal_definition_loads(tmp_path):
    forms = write_forms(tmp_path, {"xcally.yml": minimal()})
    assert list(load_catalog(forms).forms) == ["xcally"]


@pytest.mark.parametrize("fields, expected", [
    ("version: {type: text, label: Version, pattern: '[0-9', pattern_message: x}\n",
     r"forms/xcally\.yml:8: request_types\.bug-report\.fields\.version\.pattern: not a valid regular expression "
     r"\(.+\); fix the pattern"),
    ("version: {type: text, label: V, pattern: '(?P<major>[0-9]+)', pattern_message: x}\n",
     r"forms/xcally\.yml:8: request_types\.bug-report\.fields\.version\.pattern: uses Python-only"),
    ("phone: {type: text, label: Phone, pattern: '[0-9 ()]+', pattern_message: x}\n",
     r"fields\.phone\.pattern: browsers cannot use this pattern: it has an unescaped '\(' inside \[\.\.\.\]; "
     r"write \\\(; browsers read patterns strictly"),
    ("version: {type: text, label: Version, pattern: '[0-9]+'}\n",
     r"fields\.version\.pattern_message: missing; add 'pattern_message:'"),
    ("channels: {type: multiselect, label: Channels, options: [a]}\n",
     r"forms/xcally\.yml:8: request_types\.bug-report\.fields\.channels\.type: unknown field type 'multiselect'; "
     r"did you mean 'multi-select'\?"),
    ("host: {type: hostname-or-ip, label: Host, requried: true}\n",
     r"forms/xcally\.yml:8: request_types\.bug-report\.fields\.host\.requried: unknown key; did you mean 'required'\?"),
    ("host: {type: hostname-or-ip, label: Host, required: yes}\n",
     r"fields\.host\.required: must be true or false, not 'yes'"),
    ("release:\n  type: select\n  label: Release\n  options: [3.9, 3.10]\n",
     r"forms/xcally\.yml:11: request_types\.bug-report\.fields\.release\.options\[0\]: must be text, not 3\.9; "
     r"put it in quotes"),
    ("mode: {type: select, label: Mode, options: [a, a]}\n",
     r"fields\.mode\.options\[1\]: 'a' is listed twice"),
    ("mode: {type: select, label: Mode}\n", r"fields\.mode\.options: must be a non-empty list"),
    ("host: {type: hostname-or-ip, label: Host, show_if: {field: mode, equals: a}}\n"
     "mode: {type: select, label: Mode, options: [a]}\n",
     r"fields\.host\.show_if\.field: 'mode' is not a field above this one"),
    ("mode: {type: select, label: Mode, options: [a, b]}\n"
     "host: {type: hostname-or-ip, label: Host, show_if: {field: mode, equals: c}}\n",
     r"fields\.host\.show_if: 'c' is not an option of 'mode'; use one of: a, b"),
    ("note: {type: text, label: Note}\n"
     "host: {type: hostname-or-ip, label: Host, show_if: {field: note, equals: x}}\n",
     r"fields\.host\.show_if\.field: 'note' is a text field; show_if can depend only on"),
    ("mode: {type: select, label: Mode, options: [a]}\n"
     "host: {type: hostname-or-ip, label: Host, show_if: {field: mode, equals: a, in: [a]}}\n",
     r"fields\.host\.show_if: needs exactly one of 'equals' or 'in'"),
    ("ok: {type: consent, consent: server-acess}\n",
     r"fields\.ok\.consent: no consent text named 'server-acess'; .*available: server-access"),
    ("ok: {type: consent, consent: server-access, label: I agree}\n",
     r"fields\.ok\.label: unknown key"),
    ("note: {type: text, label: Note, min_length: 50, max_length: 10}\n",
     r"fields\.note\.min_length: is larger than max_length \(10\)"),
    ("note: {type: text, label: Note, max_length: 5000}\n",
     r"fields\.note\.max_length: must be a whole number from 1 to 1000"),
    ("logs: {type: attachments, label: Logs, max_files: 50}\n",
     r"fields\.logs\.max_files: must be a whole number from 1 to 5"),
    ("logs: {type: attachments, label: Logs, accept: [log]}\n",
     r"fields\.logs\.accept: must be a list of file extensions or MIME types"),
    ("Bad-Name: {type: text, label: Bad}\n", r"fields\.Bad-Name: field names are lowercase words"),
    ("note: {type: text}\n", r"fields\.note\.label: missing; add 'label:'"),
    ("summary: {type: text, label: Again}\n", r"forms/xcally\.yml:8: .*'summary' appears twice \(first on line 6\)"),
])
def test_definition_errors_name_file_line_field_and_fix(tmp_path, fields, expected):
    problems = problems_for(tmp_path, {"xcally.yml": minimal(fields)})
    assert any(re.search(expected, p) for p in problems), problems


@pytest.mark.parametrize("text, expected", [
    ("request_types:\n  bug-report:\n    title: Bug\n    description: D\n    fields:\n"
     "      description: {type: textarea, label: D}\n",
     r"forms/xcally\.yml:6: request_types\.bug-report\.fields\.summary: missing; add a required 'summary' text"),
    ("request_types:\n  bug-report:\n    title: Bug\n    description: D\n    fields:\n"
     "      summary: {type: text, label: S, required: true, max_length: 500}\n"
     "      description: {type: textarea, label: D}\n",
     rf"fields\.summary: must be a required text field with max_length {SUMMARY_MAX_LENGTH} or less"),
    ("request_types:\n  bug-report:\n    title: Bug\n    description: D\n    fields:\n"
     "      summary: {type: text, label: S, required: true}\n"
     "      description: {type: text, label: D}\n",
     r"forms/xcally\.yml:7: request_types\.bug-report\.fields\.description: must be a textarea"),
    ("request_types:\n  Bug Report:\n    title: Bug\n",
     r"forms/xcally\.yml:2: request_types\.Bug Report: request type names are lowercase words joined by '-'"),
    ("request_types:\n  bug-report:\n    title: Bug\n    fields: {}\n",
     r"request_types\.bug-report\.description: missing"),
    ("request_types:\n  bug-report:\n    title: Bug\n    description: D\n    default_priority: urgent\n"
     "    fields: {}\n", r"forms/xcally\.yml:5: request_types\.bug-report\.default_priority: unknown priority"),
    ("request_types:\n  bug-report:\n    title: Bug: crash\n    description: x: y\n",
     r"forms/xcally\.yml:3: not valid YAML \(mapping values are not allowed here\); check the indentation and quote"),
    ("reqest_types: {}\n", r"forms/xcally\.yml:1: reqest_types: unknown key; did you mean 'request_types'\?"),
    ("- just\n- a list\n", r"forms/xcally\.yml:1: must be a mapping with 'request_types:'"),
])
def test_file_level_errors(tmp_path, text, expected):
    problems = problems_for(tmp_path, {"xcally.yml": text})
    assert any(re.search(expected, p) for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_for(tmp_path, {
        "xcally.yml": minimal("a: {type: nope, label: A}\nb: {type: text, label: B, pattern: '(', "
                              "pattern_message: Like this}\n"),
        "vidaoo.yml": "request_types: []\n",
    })
    assert len(problems) == 3
    assert any("xcally.yml:8" in p and "fields.a.type" in p for p in problems)
    assert any("xcally.yml:9" in p and "fields.b.pattern" in p for p in problems)
    assert any("vidaoo.yml:1: request_types: must be a mapping" in p for p in problems)


def test_misnamed_files_and_consents_are_reported(tmp_path):
    problems = problems_for(tmp_path, {
        "xcally.yml": minimal(), "xcaly.yml": minimal(), "vidaoo.yaml": minimal(),
        "consents/terms.yml": "title: Terms\nagreement: ok\n",
    })
    assert any(re.search(r"forms/xcaly\.yml: 'xcaly' is not a product; name form files after a product", p)
               for p in problems)
    assert any(p.endswith("forms/vidaoo.yaml: rename it to vidaoo.yml") for p in problems)
    assert any(re.search(r"forms/consents/terms\.yml:1: version: missing; add 'version:'", p) for p in problems)


def test_a_missing_or_empty_folder_says_what_to_create(tmp_path):
    with pytest.raises(FormDefinitionError, match="folder not found; create it with one YAML file per product"):
        load_catalog(tmp_path / "forms")
    (tmp_path / "forms").mkdir()
    with pytest.raises(FormDefinitionError, match="no form definitions found"):
        load_catalog(tmp_path / "forms")


def test_yes_and_no_stay_text(tmp_path):
    """YAML 1.1 would read an unquoted `no` option as false; writers should not have to know that."""
    forms = write_forms(tmp_path, {"xcally.yml": minimal("answer: {type: select, label: A, options: [yes, no]}\n"
                                                         "more: {type: text, label: M, show_if: {field: answer, "
                                                         "equals: no}}\n")})
    field = load_catalog(forms).request_type("xcally", "bug-report").fields["answer"]
    assert [o.value for o in field.options] == ["yes", "no"]


# --------------------------------------------------------------------------- validating submissions


def test_a_valid_submission_is_cleaned(sample):
    submission = sample.validate(good(channels=["chat", "voice", "chat"], contact=" ada@example.com ",
                                      started="2026-03-01", serial="XC-1234"))
    assert submission.product == "xcally" and submission.request_type == "bug-report"
    assert submission.summary == "Calls drop after 30 seconds"
    assert submission.description == "Every inbound call drops."
    assert submission.values == {
        "summary": "Calls drop after 30 seconds", "description": "Every inbound call drops.", "version": "3.41.2",
        "serial": "XC-1234", "deployment": "cloud", "channels": ["chat", "voice"], "contact": "ada@example.com",
        "started": "2026-03-01", "needs_access": "no"}
    assert submission.consents == []
    assert submission.attachment_fields == ["logs", "screenshots"]


def test_a_posted_form_becomes_the_body_validate_takes(sample):
    pairs = [("product", "xcally"), ("request_type", "bug-report"), ("priority", "low"),
             ("idempotency_key", "0f8b5c1e-1f7a-4e59-9a43-3f2b8f0f6a11"), ("fields.summary", "Calls drop"),
             ("fields.description", "Every inbound call drops."), ("fields.version", "3.41.2"),
             ("fields.deployment", "cloud"), ("fields.channels", "voice"), ("fields.channels", "chat"),
             ("fields.needs_access", "yes"), ("fields.host", "pbx.example.com"),
             ("fields.access_consent", "yes"), ("files.screenshots", object()), ("csrf", "ignored")]
    body = body_from_form(pairs, {"screenshots": 1})
    assert body["priority"] == "low" and body["attachments"] == {"screenshots": 1}
    submission = sample.validate(body)
    assert submission.values["channels"] == ["voice", "chat"] and submission.consents[0].version == "2026-01"
    # An unticked consent checkbox is simply absent from a posted form.
    unticked = body_from_form([p for p in pairs if p[0] != "fields.access_consent"], {"screenshots": 1})
    assert set(errors_of(sample, unticked)) == {"fields.access_consent"}


def test_multipart_shapes_are_accepted(sample):
    """The intake turns multipart into lists; one-item lists and a lone multi-select value are fine."""
    body = good(channels="voice")
    body["fields"] = {k: [v] for k, v in body["fields"].items()}
    assert sample.validate(body).values["channels"] == ["voice"]


@pytest.mark.parametrize("change, field, message", [
    ({"product": "xcaly"}, "product", "Unknown product 'xcaly'; use one of: xcally."),
    ({"request_type": "bug"}, "request_type", "Unknown request type 'bug' for XCALLY; use one of: bug-report, "
                                              "remote-assistance."),
    ({"priority": "urgent"}, "priority", "Choose a priority: Highest, High, Medium, Low, Lowest."),
    ({"idempotency_key": "x"}, "idempotency_key", "Must be 8 to 100 letters, digits, '-' or '_'."),
    ({"fields": "summary"}, "fields", "Must be an object of field name to value."),
])
def test_envelope_errors(sample, change, field, message):
    body = {**good(), **change}
    assert errors_of(sample, body)[field] == message


@pytest.mark.parametrize("fields, field, message", [
    ({"summary": "   "}, "fields.summary", "This field is required."),
    ({"deployment": ""}, "fields.deployment", "Choose an option."),
    ({"deployment": "mars"}, "fields.deployment", "'mars' is not one of the options: on-premise, cloud."),
    ({"channels": ["voice", "fax"]}, "fields.channels", "'fax' is not one of the options: voice, chat, email."),
    ({"channels": [1]}, "fields.channels", "Must be a list of options."),
    ({"serial": "1234"}, "fields.serial", "Write it like XC-1234."),
    ({"summary": "x" * 201}, "fields.summary", "Must be at most 200 characters (it has 201)."),
    ({"description": "short"}, "fields.description", "Must be at least 10 characters (it has 5)."),
    ({"contact": "ada@"}, "fields.contact", "Write an email address like name@example.com."),
    ({"page": "javascript:alert(1)"}, "fields.page", "Write a full address starting with http:// or https://."),
    ({"page": "https://"}, "fields.page", "Write a full address starting with http:// or https://."),
    ({"version": "latest"}, "fields.version", "Write a version number like 3.41.2."),
    ({"started": "2026-02-30"}, "fields.started", "Write a date as YYYY-MM-DD, e.g. 2026-03-31."),
    ({"started": "20260201"}, "fields.started", "Write a date as YYYY-MM-DD, e.g. 2026-03-31."),
    ({"summary": ["a", "b"]}, "fields.summary", "Give one value, not a list."),
    ({"summary": 42}, "fields.summary", "Must be text."),
    ({"needs_access": "yes", "host": "pbx..example.com"}, "fields.host",
     "Write a host name like pbx.example.com or an IP address like 192.0.2.10."),
    ({"needs_access": "yes", "host": "pbx.example.com"}, "fields.access_consent",
     "Accept the server access conditions (version 2026-01) to continue."),
    ({"needs_access": "yes", "host": "pbx.example.com", "access_consent": "maybe"}, "fields.access_consent",
     "Tick the box to accept, or leave it empty."),
    ({"surname": "Lovelace"}, "fields.surname", "Unknown field 'surname' for XCALLY bug report."),
    ({"logs": "server.log"}, "fields.logs", "Unknown field 'logs' for XCALLY bug report. Files go in files.<name>."),
])
def test_field_errors(sample, fields, field, message):
    assert errors_of(sample, good(**fields))[field] == message


@pytest.mark.parametrize("attachments, message", [
    ({"screenshots": 1, "logs": 3}, {"files.logs": "Attach at most 2 file(s) here (you attached 3)."}),
    ({}, {"files.screenshots": "Attach at least one file."}),
    ({"screenshots": 1, "core": 1}, {"files.core": "'core' is not an attachments field of this form."}),
    ({"screenshots": "1"}, {"files.screenshots": "The number of files must be a whole number."}),
])
def test_attachment_counts(sample, attachments, message):
    body = good()
    body["attachments"] = attachments
    assert errors_of(sample, body) == message


def test_every_problem_is_reported_at_once_for_a_submission(sample):
    body = {"product": "xcally", "request_type": "bug-report", "priority": "soon",
            "fields": {"summary": "", "version": "x", "contact": "nope", "needs_access": "yes", "typo": "1"},
            "attachments": {"logs": 9}}
    assert set(errors_of(sample, body)) == {
        "priority", "fields.summary", "fields.description", "fields.version", "fields.deployment",
        "fields.contact", "fields.host", "fields.access_consent", "fields.typo", "files.logs",
        "files.screenshots"}


def test_hidden_fields_are_neither_required_nor_stored(sample):
    submission = sample.validate(good(needs_access="no", host="not a host!", access_consent="maybe"))
    assert "host" not in submission.values and "access_consent" not in submission.values
    assert submission.consents == []


@pytest.mark.parametrize("accepted", [True, "on", "yes", "true", "TRUE", ["on"]])
def test_consent_is_recorded_with_its_version(sample, accepted):
    submission = sample.validate(good(needs_access="yes", host="192.0.2.10", access_consent=accepted))
    [consent] = submission.consents
    assert (consent.field, consent.name, consent.version) == ("access_consent", "server-access", "2026-01")
    assert re.fullmatch(r"[0-9a-f]{64}", consent.text_sha256)
    assert submission.values["access_consent"] is True and submission.values["host"] == "192.0.2.10"


@pytest.mark.parametrize("refused", [False, "off", "no", "", None])
def test_refused_consent_is_missing(sample, refused):
    body = {"product": "xcally", "request_type": "remote-assistance", "priority": "medium",
            "fields": {"summary": "Help", "access_consent": refused}}
    assert errors_of(sample, body) == {
        "fields.access_consent": "Accept the server access conditions (version 2026-01) to continue."}


def test_changing_the_consent_text_changes_its_hash(tmp_path, sample):
    forms = write_forms(tmp_path, {"xcally.yml": SAMPLE,
                                   "consents/server-access.yml": CONSENT.replace("backup first", "snapshot")})
    assert (load_catalog(forms).consents["server-access"].text_sha256
            != sample.consents["server-access"].text_sha256)


@pytest.mark.parametrize("host, ok", [
    ("pbx.example.com", True), ("192.0.2.10", True), ("2001:db8::1", True), ("[2001:db8::1]", True),
    ("localhost", True), ("pbx.example.com.", True),
    ("pbx..example.com", False), ("-pbx.example.com", False), ("1.2.3.999", False), ("pbx example", False),
    ("a" * 64 + ".com", False), ("http://pbx.example.com", False),
])
def test_hostname_or_ip(sample, host, ok):
    body = good(needs_access="yes", host=host, access_consent=True)
    if ok:
        assert sample.validate(body).values["host"] == host
    else:
        assert "fields.host" in errors_of(sample, body)


def test_errors_serialise_to_the_422_body(sample):
    with pytest.raises(SubmissionInvalid) as caught:
        sample.validate(good(version="x"))
    body = caught.value.response_body()
    assert body["errors"] == [{"field": "fields.version", "message": "Write a version number like 3.41.2."}]
    assert body["detail"]


def test_not_an_object(sample):
    assert errors_of(sample, ["product", "xcally"]) == {"": "The request body must be a JSON object."}


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_describes_the_body(sample):
    schema = sample.json_schema("xcally")
    json.dumps(schema)  # plain JSON, ready for OpenAPI
    assert schema["properties"]["product"] == {"const": "xcally"}
    assert schema["properties"]["request_type"]["enum"] == ["bug-report", "remote-assistance"]
    assert schema["properties"]["priority"]["enum"] == ["highest", "high", "medium", "low", "lowest"]
    assert set(schema["required"]) == {"product", "request_type", "priority", "fields"}
    bug = next(v for v in schema["oneOf"] if v["properties"]["request_type"] == {"const": "bug-report"})
    fields = bug["properties"]["fields"]
    assert fields["additionalProperties"] is False
    assert fields["required"] == ["summary", "description", "version", "deployment", "needs_access"]
    assert fields["properties"]["summary"]["maxLength"] == 200
    assert fields["properties"]["deployment"]["enum"] == ["on-premise", "cloud"]
    assert fields["properties"]["channels"]["items"] == {"enum": ["voice", "chat", "email"]}
    assert fields["properties"]["contact"]["format"] == "email"
    assert fields["properties"]["serial"]["allOf"] == [{"pattern": "^(?:[A-Z]{2}-[0-9]{4})$"}]
    assert {"if": {"properties": {"needs_access": {"enum": ["yes"]}}, "required": ["needs_access"]},
            "then": {"required": ["access_consent"]}} in fields["allOf"]
    assert "logs" not in fields["properties"]
    assert bug["properties"]["attachments"]["properties"]["logs"]["maximum"] == 2


def test_json_schema_for_every_real_product(real):
    for slug, form in real.forms.items():
        schema = real.json_schema(slug)
        assert [v["properties"]["request_type"]["const"] for v in schema["oneOf"]] == list(form.request_types)


# --------------------------------------------------------------------------- facts shared with other modules


def test_the_summary_limit_is_the_ticket_column(tmp_path):
    """One limit: the column holds it, a summary without max_length gets it, the API schema says it,
    and `kbgen check` refuses a form that would accept longer summaries than a ticket stores."""
    from kbgen.tickets import Ticket

    assert Ticket.__table__.c.summary.type.length == SUMMARY_MAX_LENGTH
    forms = write_forms(tmp_path, {"xcally.yml": minimal()})  # its summary gives no max_length
    catalog = load_catalog(forms)
    assert catalog.request_type("xcally", "bug-report").fields["summary"].max_length == SUMMARY_MAX_LENGTH
    schema = catalog.json_schema("xcally")["oneOf"][0]["properties"]["fields"]["properties"]["summary"]
    assert schema["maxLength"] == SUMMARY_MAX_LENGTH
    too_long = minimal().replace("required: true}", f"required: true, max_length: {SUMMARY_MAX_LENGTH + 1}}}")
    assert any("fields.summary: must be a required text field" in p
               for p in problems_for(tmp_path / "long", {"xcally.yml": too_long}))


@pytest.mark.parametrize("address, ok", [
    ("ada@example.com", True), ("o'brien+tickets@mail.example.co.uk", True), ("ann@localhost", True),
    ("ada@", False), ("@example.com", False), ("ada@exa mple.com", False), ("ada@@example.com", False),
    ("jörg@example.com", False), ("ada@-example.com", False), ("a@" + "b" * 250 + ".com", False),
])
def test_forms_and_accounts_accept_the_same_email_addresses(sample, address, ok):
    """One check (kbgen/mail/addresses.py), the one browsers apply to <input type=email>."""
    from kbgen.accounts import AccountError, normalize_email

    form_ok = "fields.contact" not in errors_or_none(sample, good(contact=address))
    try:
        account_ok = normalize_email(address) == address.lower()
    except AccountError:
        account_ok = False
    assert (form_ok, account_ok) == (ok, ok)


def errors_or_none(catalog, body) -> dict[str, str]:
    try:
        catalog.validate(body)
    except SubmissionInvalid as exc:
        return {e.field: e.message for e in exc.errors}
    return {}
