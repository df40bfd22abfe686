"""The form catalog: every product's form and the consent texts, read from a forms folder.

`load_catalog` is what the site build, `kbgen check` and the service call; the catalog
validates a submission (validation.py) and describes its JSON body (schema.py) from the
same definitions the pages are built from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kbgen.forms import schema, validation
from kbgen.forms.definitions import load_consents, load_product
from kbgen.forms.fields import ConsentText, ProductForm, RequestType
from kbgen.forms.loader import FormDefinitionError, display_path
from kbgen.forms.validation import Submission
from kbgen.site.catalog import PRODUCTS


@dataclass
class FormCatalog:
    forms: dict[str, ProductForm]  # by product slug, in kbgen.site.catalog.PRODUCTS order
    consents: dict[str, ConsentText] = field(default_factory=dict)

    def request_type(self, product: str, request_type: str) -> RequestType | None:
        form = self.forms.get(product)
        return form.request_types.get(request_type) if form else None

    def validate(self, data: Mapping) -> Submission:
        """Check a JSON-shaped submission against its form; raise SubmissionInvalid with every problem."""
        return validation.validate(self.forms, data)

    def json_schema(self, product: str) -> dict[str, Any]:
        """JSON Schema (2020-12, as OpenAPI 3.1 uses) of the JSON body of a ticket for this product."""
        return schema.json_schema(self.forms[product])


def load_catalog(forms_dir: Path) -> "FormCatalog":
    """Read and validate every definition in forms_dir; raise FormDefinitionError listing all problems."""
    forms_dir = Path(forms_dir)
    shown = display_path(forms_dir)
    if not forms_dir.is_dir():
        raise FormDefinitionError([f"{shown}: folder not found; create it with one YAML file per product "
                                   "(" + ", ".join(f"{p.slug}.yml" for p in PRODUCTS) + ")"])
    problems: list[str] = []
    consents = load_consents(forms_dir / "consents", problems)
    slugs = {p.slug for p in PRODUCTS}
    for path in sorted(forms_dir.glob("*.y*ml")):
        if path.suffix == ".yaml" and path.stem in slugs:
            problems.append(f"{display_path(path)}: rename it to {path.stem}.yml")
        elif path.suffix in (".yml", ".yaml") and path.stem not in slugs:
            problems.append(f"{display_path(path)}: '{path.stem}' is not a product; name form files after "
                            "a product slug: " + ", ".join(f"{s}.yml" for s in slugs))
    forms: dict[str, ProductForm] = {}
    for product in PRODUCTS:
        path = forms_dir / f"{product.slug}.yml"
        if path.is_file():
            form = load_product(path, product, consents, problems)
            if form is not None:
                forms[product.slug] = form
    if not forms and not problems:
        problems.append(f"{shown}: no form definitions found; add one YAML file per product, e.g. xcally.yml")
    if problems:
        raise FormDefinitionError(problems)
    return FormCatalog(forms, consents)


def check_forms(forms_dir: Path) -> list[str]:
    """`kbgen check`: the problems of the form definitions, empty when they are fine."""
    try:
        load_catalog(forms_dir)
    except FormDefinitionError as exc:
        return exc.problems
    return []
