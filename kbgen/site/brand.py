"""The portal's brand: its name, logo, favicon, colours and footer, defined once in mkdocs.yml.

    extra:
      kbgen:
        brand:
          name: Acme Support            # default: site_name
          logo: images/logo.svg         # a file in the docs folder (content/)
          favicon: images/favicon.png   # the same
          primary: "#0b4f8a"            # header, chips, buttons: #rgb or #rrggbb
          accent: "#c2410c"             # links and highlights on hover
          footer:
            text: "© Acme Ltd."
            links: [{label: Privacy, url: "https://acme.example/privacy"}]
          made_with_material: false     # Material's "Made with Material for MkDocs" line (default: hidden)

`brand_from_config` reads it (every bad value a `mkdocs.yml:LINE: extra.kbgen.brand.KEY: ...` problem);
the plugin applies it to the site (site_name, logo, favicon, the palette and assets/kbgen-brand.css,
the footer) and writes it into the site as .kbgen/brand.json (`write`). The service reads that file
(`for_site`: its pages and emails show the same name and colours), else the project's mkdocs.yml,
else the defaults: a service never fails to start over its brand.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from kbgen.parsed_files import parsed

__all__ = ["BRAND_FILE", "Brand", "BrandError", "FooterLink", "brand_from_config", "for_settings", "for_site",
           "load_project", "write"]

BRAND_FILE = ".kbgen/brand.json"  # inside the built site, beside csp.json
DEFAULT_NAME = "Support portal"
CONFIG_PATH = ("extra", "kbgen", "brand")
MAX_TEXT = 300  # a name, a footer line, a link's label
MAX_LINKS = 12
KEYS = ("name", "logo", "favicon", "primary", "accent", "footer", "made_with_material")
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_SAFE_URL = re.compile(r"(?:https?://|mailto:|/|\.{0,2}/|#)|[\w.-]+(?:/|$)", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What the service's pages and emails use when no colour is configured: the site's own look (Material indigo).
DEFAULT_PRIMARY = "#3f51b5"
DEFAULT_ACCENT = "#3f51b5"


class BrandError(ValueError):
    """Bad values in the brand's configuration; `problems` are `file:line: key: what to do` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FooterLink:
    label: str
    url: str


@dataclass(frozen=True)
class Brand:
    name: str = DEFAULT_NAME
    logo: str = ""  # a path in the site, from its root
    favicon: str = ""
    primary: str = ""  # "#rrggbb", or "" for the theme's own
    accent: str = ""
    footer_text: str = ""
    footer_links: tuple[FooterLink, ...] = field(default_factory=tuple)
    made_with_material: bool = False

    @property
    def colours(self) -> dict[str, str]:
        """The colours pages and emails paint with, derived from primary and accent (or the defaults):
        text on the primary colour is white or near-black, whichever reads better."""
        primary = self.primary or DEFAULT_PRIMARY
        accent = self.accent or self.primary or DEFAULT_ACCENT
        return {"primary": primary, "primary_light": _mix(primary, "#ffffff", 0.25),
                "primary_dark": _mix(primary, "#000000", 0.25), "on_primary": _readable_on(primary),
                "accent": accent, "accent_transparent": accent + "1a", "on_accent": _readable_on(accent)}

    def to_json(self) -> dict[str, Any]:
        return {"format": 1, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> "Brand":
        """The brand written by `write`; ValueError for anything else."""
        if not isinstance(data, dict) or data.get("format") != 1:
            raise ValueError("not a brand file of this kbgen")
        links = tuple(FooterLink(str(link["label"]), str(link["url"])) for link in data.get("footer_links") or ())
        return cls(name=str(data.get("name") or DEFAULT_NAME), logo=str(data.get("logo") or ""),
                   favicon=str(data.get("favicon") or ""), primary=_colour_or_empty(data.get("primary")),
                   accent=_colour_or_empty(data.get("accent")), footer_text=str(data.get("footer_text") or ""),
                   footer_links=links, made_with_material=bool(data.get("made_with_material")))


def brand_from_config(extra: Mapping[str, Any] | None, *, site_name: str = "", config_file: Path | None = None,
                      file_exists: Callable[[str], bool] | None = None) -> Brand:
    """The brand in mkdocs.yml's `extra` mapping, checked; BrandError lists every bad value at its line.

    `file_exists(path)` says whether the logo or favicon is a file of the site (the plugin passes
    the docs folder's and themes' files); None skips that check (the service reading mkdocs.yml).
    """
    kbgen = (extra or {}).get("kbgen") if isinstance(extra, Mapping) else None
    raw = kbgen.get("brand") if isinstance(kbgen, Mapping) else None
    lines = _key_lines(config_file)
    problems: list[str] = []

    def problem(key: str, message: str) -> None:
        where = ".".join((*CONFIG_PATH, key)) if key else ".".join(CONFIG_PATH)
        line = lines.get(where) or lines.get(".".join(CONFIG_PATH))
        name = config_file.name if config_file else "mkdocs.yml"
        problems.append(f"{name}:{line}: {where}: {message}" if line else f"{name}: {where}: {message}")

    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problem("", "must be a mapping of name, logo, favicon, primary, accent, footer, made_with_material.")
        raise BrandError(problems)
    for key in raw:
        if key not in KEYS:
            problem(str(key), f"is not a brand setting; use one of {', '.join(KEYS)}.")

    def text(key: str, value: Any, default: str = "") -> str:
        if value is None or value == "":
            return default
        if not isinstance(value, str) or not value.strip() or _CONTROL.search(value) or len(value) > MAX_TEXT:
            problem(key, f"must be one line of text, at most {MAX_TEXT} characters.")
            return default
        return value.strip()

    def colour(key: str) -> str:
        value = raw.get(key)
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not _HEX.fullmatch(value.strip()):
            problem(key, f"{value!r} is not a colour; write it as #rrggbb (or #rgb), e.g. \"#0b4f8a\" "
                         "(quote it: YAML reads # as a comment).")
            return ""
        return _long_hex(value.strip())

    def image(key: str) -> str:
        path = text(key, raw.get(key))
        if not path:
            return ""
        relative = path.lstrip("/")
        if "\\" in path or ".." in Path(relative).parts or not _SAFE_URL.match(relative):
            problem(key, f"{path!r} must be a path inside the docs folder, e.g. images/logo.svg.")
            return ""
        if file_exists is not None and not file_exists(relative):
            problem(key, f"{path!r} is not a file in the docs folder (content/); put the image there or "
                         "correct the path.")
            return ""
        return relative

    name = text("name", raw.get("name"), default=(site_name or "").strip() or DEFAULT_NAME)
    footer = raw.get("footer") or {}
    footer_text, links = "", []
    if not isinstance(footer, Mapping):
        problem("footer", "must be a mapping with `text` and `links` ([{label, url}]).")
    else:
        for key in footer:
            if key not in ("text", "links"):
                problem(f"footer.{key}", "is not a footer setting; use text and links.")
        footer_text = text("footer.text", footer.get("text"))
        given = footer.get("links") or []
        if not isinstance(given, list) or len(given) > MAX_LINKS:
            problem("footer.links", f"must be a list of at most {MAX_LINKS} {{label, url}} mappings.")
            given = []
        for index, link in enumerate(given):
            key = f"footer.links[{index}]"
            if not isinstance(link, Mapping) or set(link) != {"label", "url"}:
                problem(key, "must be a mapping with exactly `label` and `url`.")
                continue
            before = len(problems)
            label, url = text(f"{key}.label", link.get("label")), text(f"{key}.url", link.get("url"))
            if url and not _SAFE_URL.match(url):
                problem(f"{key}.url", f"{url!r} must be an http(s):// or mailto: address, or a path on this site.")
            elif label and url:
                links.append(FooterLink(label, url))
            elif len(problems) == before:
                problem(key, "needs both a label and a url.")
    shown = raw.get("made_with_material", False)
    if not isinstance(shown, bool):
        problem("made_with_material", "must be true or false.")
        shown = False
    brand = Brand(name=name, logo=image("logo"), favicon=image("favicon"), primary=colour("primary"),
                  accent=colour("accent"), footer_text=footer_text, footer_links=tuple(links),
                  made_with_material=shown)
    if problems:
        raise BrandError(problems)
    return brand


def write(site_dir: Path, brand: Brand) -> None:
    """The brand for the service, inside the built site (swapped in with the pages it belongs to)."""
    path = Path(site_dir) / BRAND_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(brand.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def for_site(site_dir: Path, project_dir: Path | None = None) -> Brand:
    """The brand of the built site in `site_dir` (re-read when a build replaces it); else the project's
    mkdocs.yml; else the defaults. Never raises: a brand problem must not take the service down."""
    try:
        return parsed(Path(site_dir) / BRAND_FILE, _built_brand)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return load_project(project_dir) if project_dir is not None else Brand()


def _built_brand(text: str) -> Brand:
    return Brand.from_json(json.loads(text))


def for_settings(settings: Any) -> Brand:
    """The brand the service's pages and emails show, for its Settings (site_dir, project_dir)."""
    site_dir, project_dir = getattr(settings, "site_dir", None), getattr(settings, "project_dir", None)
    if site_dir is None:
        return load_project(project_dir) if project_dir is not None else Brand()
    return for_site(site_dir, project_dir)


def load_project(project_dir: Path) -> Brand:
    """The brand in a project's mkdocs.yml (MkDocs' own tags read as plain values); defaults when it
    cannot be read or is invalid (the build reports what is wrong)."""
    config_file = Path(project_dir) / "mkdocs.yml"

    def brand_of(text: str) -> Brand:
        config = yaml.load(text, Loader=_TolerantLoader)
        if not isinstance(config, dict):
            return Brand()
        return brand_from_config(config.get("extra"), site_name=str(config.get("site_name") or ""),
                                 config_file=config_file)

    try:
        brand = parsed(config_file, brand_of)
    except (OSError, yaml.YAMLError, BrandError):
        return Brand()
    return brand


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads MkDocs' tags (!ENV, !relative, !!python/name:...) as their plain value."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor("!", _plain)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def _key_lines(config_file: Path | None) -> dict[str, int]:
    """The 1-based line of each key under extra.kbgen.brand in mkdocs.yml ("extra.kbgen.brand.footer.text": 42)."""
    if config_file is None:
        return {}
    try:
        root = yaml.compose(Path(config_file).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    found: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{path}.{key.value}" if path else str(key.value)
                found[name] = key.start_mark.line + 1
                walk(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                name = f"{path}[{index}]"
                found[name] = item.start_mark.line + 1
                walk(item, name)

    if root is not None:
        walk(root, "")
    return found


def _colour_or_empty(value: Any) -> str:
    return _long_hex(value) if isinstance(value, str) and _HEX.fullmatch(value) else ""


def _long_hex(value: str) -> str:
    value = value.lower()
    return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value


def _rgb(value: str) -> tuple[int, int, int]:
    value = _long_hex(value)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _mix(colour: str, other: str, share: float) -> str:
    a, b = _rgb(colour), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b))


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _readable_on(background: str) -> str:
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#1f2328") else "#1f2328"
