"""Every message purpose and every journal fact the code writes has a French label for the
helpdesk (backoffice.journal_labels), so that a new one cannot reach the back-office's pages
as a code (`activation_code`, `pupil_id : 10`).

The project's source is read, not run: the `purpose` of every call that queues a message
(notifications.services.sms_enqueue, email_enqueue, notifications.emails.email_send), the
names of the code purposes (core.codes.CodePurpose, sent under their name by core.codes),
and the keys of every fact given to core.journal (journal_record, journal_event_build, and
journal_record bound by functools.partial), following the dictionaries spread into them
(`**_link_facts(link)`, `**report.journal_data()`…). A spread the scanner cannot follow
fails the test: teach it the new shape rather than skip it.
"""

import ast
import importlib
from pathlib import Path

from backoffice.journal_labels import (
    DETAIL_LABELS,
    MESSAGE_PURPOSE_LABELS,
    REASON_LABELS,
    VALUE_LABELS_BY_KEY,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "activation", "assistance", "backoffice", "core", "educonnect", "families",
        "franceconnect", "notifications", "oidc_idp", "pupils", "saml_idp", "services_portal"]
MESSAGE_CALLS = {"sms_enqueue", "email_enqueue", "email_send"}
JOURNAL_CALLS = {"journal_record", "journal_event_build"}
# The arguments of core.journal's functions that are not facts.
NOT_FACTS = {"request", "account", "actor", "flow_id"}
# Where the journal's own functions pass their facts through.
PASS_THROUGH = {"core/journal.py"}


def sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _module(relative: str):
    return importlib.import_module(relative.removesuffix(".py").replace("/", "."))


def _enclosing_functions(tree):
    """{id(node): the innermost function definition holding it}."""
    owners = {}

    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            owners[id(child)] = owner
            visit(child, inner)

    visit(tree, None)
    return owners


def message_purposes() -> dict[str, str]:
    """{purpose: where it is written}."""
    found = {}
    for relative, tree in sources():
        owners = _enclosing_functions(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = _name(node.func)
            if called == "CodePurpose":
                for keyword in node.keywords:
                    if keyword.arg == "name":
                        assert isinstance(keyword.value, ast.Constant), (relative, node.lineno)
                        found[keyword.value.value] = f"{relative}:{node.lineno}"
            if called not in MESSAGE_CALLS:
                continue
            [value] = [k.value for k in node.keywords if k.arg == "purpose"]
            where = f"{relative}:{node.lineno}"
            if isinstance(value, ast.Constant):
                found[value.value] = where
            elif isinstance(value, ast.Name) and hasattr(_module(relative), value.id):
                found[getattr(_module(relative), value.id)] = where
            else:
                # Only a function forwarding its own `purpose` argument may pass a variable.
                owner = owners.get(id(node))
                parameters = {a.arg for a in owner.args.kwonlyargs + owner.args.args} \
                    if owner is not None else set()
                assert isinstance(value, ast.Name) and value.id in parameters, (
                    f"{where}: a purpose the scanner cannot read ({ast.unparse(value)})")
    return found


def _dict_keys(node) -> set[str]:
    """The string keys of the dictionary literals inside `node`."""
    keys = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Dict):
            keys |= {k.value for k in inner.keys
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return keys


def _functions_named(tree, name: str) -> list:
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name]


def _spread_keys(relative, tree, owners, call, spread) -> set[str]:
    """The keys of a `**spread` given to a journal call."""
    where = f"{relative}:{call.lineno}: **{ast.unparse(spread)}"
    if isinstance(spread, ast.Call):
        # **_link_facts(link), **report.journal_data(): the dictionaries the function
        # builds, and those it spreads in turn (**self.counts()).
        functions = _functions_named(tree, _name(spread.func))
        assert functions, where
        keys = set()
        for function in functions:
            keys |= _dict_keys(function)
            for inner in ast.walk(function):
                if isinstance(inner, ast.Dict):
                    for key, value in zip(inner.keys, inner.values, strict=True):
                        if key is None and isinstance(value, ast.Call):
                            for nested in _functions_named(tree, _name(value.func)):
                                keys |= {k for k in _dict_keys(nested)}
        return keys
    if isinstance(spread, ast.Subscript):
        # **fields["facts"]: the dictionaries written under that key in the module.
        wanted = spread.slice.value
        keys = set()
        for inner in ast.walk(tree):
            if isinstance(inner, ast.Dict):
                for key, value in zip(inner.keys, inner.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == wanted:
                        keys |= _dict_keys(value)
        assert keys, where
        return keys
    assert isinstance(spread, ast.Name), where
    owner = owners.get(id(call))
    assert owner is not None, where
    if owner.args.kwarg is not None and owner.args.kwarg.arg == spread.id:
        # A function taking **facts and journaling them: the keywords its callers give.
        named = {a.arg for a in owner.args.args + owner.args.kwonlyargs}
        keys = set()
        for inner in ast.walk(tree):
            if isinstance(inner, ast.Call) and _name(inner.func) == owner.name:
                keys |= {k.arg for k in inner.keywords if k.arg and k.arg not in named}
        return keys
    # A local dictionary built in the same function.
    keys = _dict_keys(owner)
    assert keys, where
    return keys


def journal_keys() -> dict[str, str]:
    """{fact key: where it is written}."""
    found = {}
    for relative, tree in sources():
        if relative in PASS_THROUGH:
            continue
        owners = _enclosing_functions(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = _name(node.func)
            is_partial = (called == "partial" and node.args
                          and _name(node.args[0]) == "journal_record")
            if called not in JOURNAL_CALLS and not is_partial:
                continue
            where = f"{relative}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg is None:
                    for key in _spread_keys(relative, tree, owners, node, keyword.value):
                        found.setdefault(key, where)
                elif keyword.arg not in NOT_FACTS:
                    found.setdefault(keyword.arg, where)
    return found


def test_the_scanner_finds_what_the_code_writes():
    """A check of the test itself: known purposes and keys are found, spreads included."""
    purposes = message_purposes()
    assert {"activation_code", "accounts_merged_notice", "assistance_reply",
            "provisional_letter", "password_reset_link"} <= set(purposes)
    keys = journal_keys()
    assert {"reason", "profile", "pupil_id", "attempt", "wrong_dates", "method",
            "link", "status_before", "role", "unchanged"} <= set(keys)


def test_every_message_purpose_used_in_the_code_has_a_french_label():
    missing = {purpose: where for purpose, where in message_purposes().items()
               if purpose not in MESSAGE_PURPOSE_LABELS}
    assert missing == {}


def test_every_journal_fact_written_in_the_code_has_a_french_label():
    missing = {key: where for key, where in journal_keys().items()
               if key not in DETAIL_LABELS}
    assert missing == {}


def test_every_reason_written_as_a_literal_has_a_french_label():
    """The `reason` facts the code writes as words (« wrong_pair », « names_differ »…),
    as well as the enumerations labelled by key (profiles, channels, methods…)."""
    literal = {}
    for relative, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in JOURNAL_CALLS | {"partial"}:
                for keyword in node.keywords:
                    if (keyword.arg in VALUE_LABELS_BY_KEY or keyword.arg == "reason") \
                            and isinstance(keyword.value, ast.Constant):
                        literal[(keyword.arg, keyword.value.value)] = f"{relative}:{node.lineno}"
    missing = {}
    for (key, value), where in literal.items():
        labels = REASON_LABELS if key == "reason" else VALUE_LABELS_BY_KEY[key]
        if value not in labels:
            missing[(key, value)] = where
    assert missing == {}
