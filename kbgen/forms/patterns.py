"""Regular expressions that browsers run too: the built-in patterns and the check of a writer's.

A pattern goes into the HTML `pattern` attribute and into the server's check, so it must mean
the same to Python's re and to ECMAScript, which browsers compile with the `v` flag.
"""
from __future__ import annotations

import re

# The built-in patterns of the version, hostname-or-ip and url fields, with what to tell customers.
# Keep them valid both for Python's re and for ECMAScript (escape '-' inside classes).
VERSION_PATTERN = r"[vV]?[0-9]+(\.[0-9]+){0,3}([\-+~_.][0-9A-Za-z.]+)?"
VERSION_MESSAGE = "Write a version number like 3.41.2."
HOST_PATTERN = r"[A-Za-z0-9.:%\[\]\-]+"  # loose on purpose: the server does the exact check
HOST_MESSAGE = "Write a host name like pbx.example.com or an IP address like 192.0.2.10."
URL_PATTERN = r"https?://.+"
URL_MESSAGE = "Write a full address starting with http:// or https://."

# Regex syntax Python understands and browsers do not: the HTML pattern would silently stop working.
_PYTHON_ONLY_REGEX = re.compile(r"\(\?P|\(\?#|\(\?[aiLmsux-]+[:)]|\\[AZ]")


def pattern_problem(pattern: str) -> tuple[str, str] | None:
    """(what is wrong, what to do) when a writer's `pattern:` cannot serve both sides, else None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression ({exc})", "fix the pattern"
    if _PYTHON_ONLY_REGEX.search(pattern):
        return ("uses Python-only regular expression syntax ((?P..), inline flags, \\A or \\Z)",
                "browsers use the pattern too: write it with plain groups and no flags")
    problem = browser_regex_problem(pattern)
    if problem:
        return (f"browsers cannot use this pattern: it {problem}",
                "browsers read patterns strictly (the `v` flag) and would silently check nothing")
    return None


_CLASS_RESERVED_ESCAPES = set("-&!#%,:;<=>@`~")  # escapable inside [...] in `v` mode only
_SYNTAX = set("^$\\.*+?()[]{}|/")
_DOUBLE_PUNCTUATORS = set("&!#$%*+,.:;<=>?@^`~")


def browser_regex_problem(pattern: str) -> str | None:
    """What makes a Python-valid pattern fail in an HTML pattern attribute, or None.

    Browsers compile `pattern` with the `v` flag, which is stricter than Python: no
    needless escapes, no lone braces, and '-', '(', ')', '{', '}', '/', '|' escaped inside [...].
    Doubled punctuation inside [...] is refused too: '&&' there even means set intersection.
    """
    i, in_class, class_start = 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            n = pattern[i + 1:i + 2]
            if not n:
                return "ends with a lone backslash"
            if not (n.isalnum() or n in _SYNTAX or (in_class and n in _CLASS_RESERVED_ESCAPES)):
                return f"escapes '{n}' needlessly; remove the backslash"
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c in "()[{}/|":
                return f"has an unescaped '{c}' inside [...]; write \\{c}"
            elif c == "-" and (i == class_start or pattern[i + 1:i + 2] == "]"):
                return "has a '-' at the edge of [...]; write \\-"
            elif c in _DOUBLE_PUNCTUATORS and pattern[i + 1:i + 2] == c:
                return f"has '{c}{c}' inside [...]; escape one of them"
        elif c == "[":
            in_class = True
            class_start = i + 2 if pattern[i + 1:i + 2] == "^" else i + 1
        elif c == "{":
            quantifier = re.match(r"\{[0-9]+(,[0-9]*)?\}", pattern[i:])
            if not quantifier:
                return "has a '{' that is not a repetition like {2,5}; write \\{"
            i += len(quantifier.group())
            continue
        elif c == "}":
            return "has a lone '}'; write \\}"
        i += 1
    return None
