"""AWS IAM policy evaluation for the local emulator (standard library only).

Follows the evaluation logic AWS documents
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, else any Allow, else an implicit deny. Public entry points:

- evaluate_identity(policies, action, resource, context): identity-based policies of a role/user.
- evaluate_resource_policy(policy, principal, action, resource, context): KMS key, SNS topic or
  role trust policy (statements must also match Principal / NotPrincipal).
- key_policy_allows_iam(policy, account, action="kms:*"): does the key policy let IAM policies grant?
- authorize(...): identity + resource policy combined, same-account or KMS style.

Malformed policies raise ValueError instead of being evaluated approximately. Policies are
compiled once (cached on their JSON text), wildcard patterns once (cached on their text).
The rules and the AWS pages they come from are listed in test_iam_policy.py.
"""
from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import operator
import re
from dataclasses import dataclass
from datetime import datetime, timezone

ALLOW, IMPLICIT_DENY, EXPLICIT_DENY = "Allow", "ImplicitDeny", "ExplicitDeny"


@dataclass(frozen=True)
class Decision:
    effect: str            # ALLOW, IMPLICIT_DENY or EXPLICIT_DENY
    statement: str | None  # Sid (or "#<index>") of the deciding statement; None for implicit deny


@dataclass(frozen=True)
class Principal:
    arn: str                      # session ARN, user ARN, or arn:aws:iam::<account>:root
    account: str                  # 12-digit account id
    role_arn: str | None = None   # the role of an assumed-role session
    service: str | None = None    # e.g. "lambda.amazonaws.com" when a service is the caller


# --------------------------------------------------------------------------------------------
# Wildcard patterns and policy variables
# --------------------------------------------------------------------------------------------

class _Unresolved(Exception):
    """A policy variable has no value in the request context: the statement does not match."""


class _Wild:
    __slots__ = ("regex",)

    def __init__(self, regex):
        self.regex = regex


_STAR, _QMARK = _Wild(".*"), _Wild(".")  # tokens for * and ?; literal text is a plain str


@dataclass(frozen=True)
class _Var:
    key: str              # lower-cased context key
    default: str | None   # ${key, 'default'}


# ${*} ${?} ${$} are escapes for the literal characters; ${key} and ${key, 'default'} variables.
_VAR_RE = re.compile(r"\$\{\s*(?:([*?$])|([^\s,'{}]+)\s*(?:,\s*'((?:[^']|'')*)')?)\s*\}")
_MULTI = (list, tuple, set, frozenset)


@functools.lru_cache(maxsize=8192)
def _tokens(text: str, variables: bool) -> tuple:
    """Splits a pattern into literal strings, _STAR/_QMARK and _Var tokens."""
    out, lit, i = [], [], 0

    def flush():
        if lit:
            out.append("".join(lit))
            lit.clear()

    while i < len(text):
        c = text[i]
        if c == "*" or c == "?":
            flush()
            out.append(_STAR if c == "*" else _QMARK)
        elif variables and text.startswith("${", i):
            m = _VAR_RE.match(text, i)
            if not m:
                raise ValueError(f"malformed policy variable in {text!r}")
            if m.group(1):
                lit.append(m.group(1))  # escaped literal character, never a wildcard
            else:
                flush()
                default = None if m.group(3) is None else m.group(3).replace("''", "'")
                out.append(_Var(m.group(2).lower(), default))
            i = m.end()
            continue
        else:
            lit.append(c)
        i += 1
    flush()
    return tuple(out)


def _scalar_str(v) -> str:
    """A context value as the string AWS compares (booleans are "true"/"false")."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def _var_value(var: _Var, ctx: dict) -> str:
    v = ctx.get(var.key)
    # Multivalued keys can't be policy variables (single-vs-multi-valued-context-keys page).
    if v is None or isinstance(v, _MULTI):
        if var.default is not None:
            return var.default
        raise _Unresolved(var.key)
    return _scalar_str(v)


def _token_regex(t, ctx) -> str:
    if type(t) is str:
        return re.escape(t)
    if isinstance(t, _Wild):
        return t.regex
    return re.escape(_var_value(t, ctx))  # substituted values are literal, never wildcards


class _Pattern:
    """A pattern compiled once; only patterns with variables are re-resolved per request."""
    __slots__ = ("tokens", "has_vars", "star_only", "regex")

    def __init__(self, text: str, variables: bool):
        self.tokens = _tokens(text, variables)
        self.has_vars = any(isinstance(t, _Var) for t in self.tokens)
        self.star_only = bool(self.tokens) and all(t is _STAR for t in self.tokens)
        self.regex = None if self.has_vars else self._compile(None)

    def _compile(self, ctx):
        return re.compile("".join(_token_regex(t, ctx) for t in self.tokens), re.DOTALL)

    def compiled(self, ctx):
        return self.regex if self.regex is not None else self._compile(ctx)

    def text(self, ctx) -> str:
        """The value with variables substituted; * and ? kept as characters."""
        return "".join(t if type(t) is str else "*" if t is _STAR else "?" if t is _QMARK
                       else _var_value(t, ctx) for t in self.tokens)


_pattern = functools.lru_cache(maxsize=8192)(_Pattern)


@functools.lru_cache(maxsize=4096)
def _action_regex(pattern_lower: str):
    # Actions have no variables; matching is case-insensitive, so both sides are lower-cased.
    return _pattern(pattern_lower, False).regex


# --------------------------------------------------------------------------------------------
# Condition operators
# --------------------------------------------------------------------------------------------

def _prep_number(text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


def _as_number(v):
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


_EPOCH_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _prep_date(v):
    """ISO 8601 (naive = UTC) or epoch seconds."""
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        dt = datetime.fromtimestamp(v, timezone.utc)
    else:
        s = str(v).strip()
        try:
            dt = (datetime.fromtimestamp(float(s), timezone.utc) if _EPOCH_RE.fullmatch(s)
                  else datetime.fromisoformat(s))
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"not a date: {v!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _as_date(v):
    try:
        return _prep_date(v)
    except ValueError:
        return None


def _prep_bool(text):
    if text.lower() not in ("true", "false"):
        raise ValueError(f"Bool value must be true or false: {text!r}")
    return text.lower()


def _prep_binary(text):
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"BinaryEquals value is not base64: {text!r}") from None


def _test_binary(v, p):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v) == p
    try:  # a str context value is taken as the base64 text of the bytes
        return base64.b64decode(_scalar_str(v), validate=True) == p
    except binascii.Error:
        return False


def _prep_ip(text):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"not an IP address or CIDR: {text!r}") from None


def _test_ip(v, p):
    try:
        return ipaddress.ip_address(_scalar_str(v).strip()) in p
    except ValueError:
        return False


def _prep_arn(pat: _Pattern, ctx):
    """ARN operators compare each of the six colon-separated parts separately, wildcards
    included (a * does not span parts); the sixth part keeps any further colons."""
    parts, cur = [], []
    for t in pat.tokens:
        if type(t) is str and len(parts) < 5 and ":" in t:
            pieces = t.split(":", 5 - len(parts))
            cur.append(re.escape(pieces[0]))
            for piece in pieces[1:]:
                parts.append("".join(cur))
                cur = [re.escape(piece)]
        else:
            cur.append(_token_regex(t, ctx))
    parts.append("".join(cur))
    # A pattern without six parts (e.g. "*") matches no ARN: AWS checks component by component.
    return tuple(re.compile(p, re.DOTALL) for p in parts) if len(parts) == 6 else None


def _test_arn(v, p):
    if p is None:
        return False
    parts = _scalar_str(v).split(":", 5)
    return len(parts) == 6 and all(r.fullmatch(s) for r, s in zip(p, parts))


@dataclass(frozen=True)
class _Family:
    prepare: object   # (_Pattern, ctx) -> prepared policy value; ValueError when malformed
    test: object      # (context value, prepared) -> bool


def _num(cmp):
    return _Family(lambda pat, ctx: _prep_number(pat.text(ctx)),
                   lambda v, p: (n := _as_number(v)) is not None and cmp(n, p))


def _date(cmp):
    return _Family(lambda pat, ctx: _prep_date(pat.text(ctx)),
                   lambda v, p: (d := _as_date(v)) is not None and cmp(d, p))


_STR = _Family(lambda pat, ctx: pat.text(ctx), lambda v, p: _scalar_str(v) == p)
_STRI = _Family(lambda pat, ctx: pat.text(ctx).lower(), lambda v, p: _scalar_str(v).lower() == p)
_LIKE = _Family(lambda pat, ctx: pat.compiled(ctx), lambda v, p: p.fullmatch(_scalar_str(v)) is not None)
_ARN = _Family(_prep_arn, _test_arn)
_NUM_EQ, _DATE_EQ = _num(operator.eq), _date(operator.eq)
_NULL = _Family(lambda pat, ctx: _prep_bool(pat.text(ctx)) == "true", None)  # True = must be absent

# base operator -> (family, negated). Negated operators are the complement of their positive
# form: true when no listed value matches (NOR), hence true when the key is absent.
_OPERATORS = {
    "StringEquals": (_STR, False), "StringNotEquals": (_STR, True),
    "StringEqualsIgnoreCase": (_STRI, False), "StringNotEqualsIgnoreCase": (_STRI, True),
    "StringLike": (_LIKE, False), "StringNotLike": (_LIKE, True),
    "NumericEquals": (_NUM_EQ, False), "NumericNotEquals": (_NUM_EQ, True),
    "NumericLessThan": (_num(operator.lt), False), "NumericLessThanEquals": (_num(operator.le), False),
    "NumericGreaterThan": (_num(operator.gt), False),
    "NumericGreaterThanEquals": (_num(operator.ge), False),
    "DateEquals": (_DATE_EQ, False), "DateNotEquals": (_DATE_EQ, True),
    "DateLessThan": (_date(operator.lt), False), "DateLessThanEquals": (_date(operator.le), False),
    "DateGreaterThan": (_date(operator.gt), False), "DateGreaterThanEquals": (_date(operator.ge), False),
    "Bool": (_Family(lambda pat, ctx: _prep_bool(pat.text(ctx)),
                     lambda v, p: _scalar_str(v).lower() == p), False),
    "BinaryEquals": (_Family(lambda pat, ctx: _prep_binary(pat.text(ctx)), _test_binary), False),
    "IpAddress": (_Family(lambda pat, ctx: _prep_ip(pat.text(ctx)), _test_ip), False),
    "NotIpAddress": (_Family(lambda pat, ctx: _prep_ip(pat.text(ctx)), _test_ip), True),
    # AWS documents ArnEquals and ArnLike identically (both take wildcards), same for the Not forms.
    "ArnEquals": (_ARN, False), "ArnLike": (_ARN, False),
    "ArnNotEquals": (_ARN, True), "ArnNotLike": (_ARN, True),
    "Null": (_NULL, False),
}


@dataclass(frozen=True)
class _Op:
    name: str
    family: _Family
    negated: bool
    set_op: str | None   # "all" (ForAllValues:), "any" (ForAnyValue:) or None
    if_exists: bool


@functools.lru_cache(maxsize=512)
def _operator(name: str) -> _Op:
    set_op, base = None, name
    if base.startswith("ForAllValues:"):
        set_op, base = "all", base[len("ForAllValues:"):]
    elif base.startswith("ForAnyValue:"):
        set_op, base = "any", base[len("ForAnyValue:"):]
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[:-len("IfExists")]
    if base not in _OPERATORS:
        raise ValueError(f"unknown condition operator {name!r}")
    family, negated = _OPERATORS[base]
    if family is _NULL and (set_op or if_exists):
        raise ValueError(f"unknown condition operator {name!r} (Null takes no prefix or IfExists)")
    return _Op(name, family, negated, set_op, if_exists)


def _values(ctx: dict, key: str):
    """The context values of a key as a tuple, or None when absent. An empty list counts as
    absent: AWS leaves a multivalued key with no values out of the request context."""
    v = ctx.get(key)
    if v is None:
        return None
    if isinstance(v, _MULTI):
        return tuple(v) or None
    return (v,)


@dataclass(frozen=True)
class _Condition:
    op: _Op
    key: str          # lower-cased: condition key names are case-insensitive
    values: tuple     # prepared values, or _Pattern for values with variables (resolved per call)
    dynamic: bool

    def holds(self, ctx: dict) -> bool:
        op = self.op
        pats = self.values
        if self.dynamic:  # resolve every value first: an unresolved variable voids the statement
            try:
                pats = tuple(op.family.prepare(p, ctx) if isinstance(p, _Pattern) else p for p in pats)
            except ValueError:
                raise _Unresolved(self.key) from None
        vals = _values(ctx, self.key)
        if op.family is _NULL:  # {"key": "true"} holds when absent, "false" when present
            return any(p == (vals is None) for p in pats)
        if vals is None:
            if op.if_exists:
                return True
            if op.set_op:       # ForAllValues: true on no values; ForAnyValue: false
                return op.set_op == "all"
            return op.negated   # "the values do not match": positive false, negated true
        test = op.family.test

        def hit(v):
            return any(test(v, p) for p in pats)

        if op.set_op == "all":
            return all(hit(v) != op.negated for v in vals)
        if op.set_op == "any":
            return any(hit(v) != op.negated for v in vals)
        # No set prefix but several context values: a positive operator holds when any context
        # value matches (like ForAnyValue); a negated one is its exact complement (holds when
        # no context value matches), so StringEquals/StringNotEquals never both hold.
        return any(hit(v) for v in vals) != op.negated


# --------------------------------------------------------------------------------------------
# Policy compilation
# --------------------------------------------------------------------------------------------

_POLICY_KEYS = {"Version", "Id", "Statement"}
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                   "Resource", "NotResource", "Condition"}
_PRINCIPAL_TYPES = {"AWS", "Service", "Federated", "CanonicalUser"}
_ROOT_RE = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
_ACCOUNT_RE = re.compile(r"\d{12}")


@dataclass(frozen=True)
class _Statement:
    label: str
    deny: bool
    action_patterns: tuple   # lower-cased
    actions: tuple           # compiled regexes, None for "*"
    not_action: bool
    resources: tuple | None  # _Pattern; None = no Resource element (trust policies)
    not_resource: bool
    principals: tuple | None  # (type, value) pairs; ("*", "*") for "Principal": "*"
    not_principal: bool
    conditions: tuple


def _strings(stmt, name, where, allow_scalar=True) -> tuple:
    v = stmt[name]
    items = [v] if isinstance(v, str) and allow_scalar else v
    if not isinstance(items, (list, tuple)) or not items or not all(isinstance(s, str) for s in items):
        raise ValueError(f"{where}: {name} must be a string or a non-empty list of strings")
    return tuple(items)


def _condition_text(v, where) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    raise ValueError(f"{where}: condition value {v!r} is not a string, number or boolean")


def _compile_conditions(block, where, variables) -> tuple:
    if not isinstance(block, dict):
        raise ValueError(f"{where}: Condition must be an object")
    out = []
    for op_name, keys in block.items():
        op = _operator(op_name)
        if not isinstance(keys, dict) or not keys:
            raise ValueError(f"{where}: {op_name} must map condition keys to values")
        for key, raw in keys.items():
            raw = list(raw) if isinstance(raw, (list, tuple)) else [raw]
            if not raw:
                raise ValueError(f"{where}: {op_name} {key}: no values")
            values, dynamic = [], False
            for v in raw:
                pat = _pattern(_condition_text(v, where), variables and op.family is not _NULL)
                if pat.has_vars:
                    values.append(pat)
                    dynamic = True
                else:
                    try:
                        values.append(op.family.prepare(pat, None))
                    except ValueError as e:
                        raise ValueError(f"{where}: {op_name} {key}: {e}") from None
            out.append(_Condition(op, key.lower(), tuple(values), dynamic))
    return tuple(out)


def _compile_principal(v, where) -> tuple:
    if v == "*":
        return (("*", "*"),)
    if not isinstance(v, dict) or not v:
        raise ValueError(f"{where}: Principal must be \"*\" or an object like {{\"AWS\": ...}}")
    out = []
    for kind, values in v.items():
        if kind not in _PRINCIPAL_TYPES:
            raise ValueError(f"{where}: unknown principal type {kind!r}")
        for value in _strings(v, kind, where):
            # AWS allows no partial wildcards in principals ("*" alone only).
            if value != "*" and ("*" in value or "?" in value):
                raise ValueError(f"{where}: wildcards are not allowed in principal {value!r}")
            out.append((kind, value))
    return tuple(out)


def _compile_statement(stmt, index, resource_policy, variables) -> _Statement:
    if not isinstance(stmt, dict):
        raise ValueError(f"statement #{index} is not an object")
    sid = stmt.get("Sid")
    label = sid if isinstance(sid, str) and sid else f"#{index}"
    where = f"statement {label}"
    unknown = set(stmt) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown element(s) {sorted(unknown)}")
    effect = stmt.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise ValueError(f"{where}: Effect must be \"Allow\" or \"Deny\", not {effect!r}")

    if ("Action" in stmt) == ("NotAction" in stmt):
        raise ValueError(f"{where}: needs exactly one of Action / NotAction")
    action_key = "Action" if "Action" in stmt else "NotAction"
    patterns = tuple(p.lower() for p in _strings(stmt, action_key, where))
    for p in patterns:
        if p != "*" and ":" not in p:
            raise ValueError(f"{where}: action {p!r} is not \"service:action\" or \"*\"")

    if "Resource" in stmt and "NotResource" in stmt:
        raise ValueError(f"{where}: has both Resource and NotResource")
    resource_key = "Resource" if "Resource" in stmt else "NotResource" if "NotResource" in stmt else None
    if resource_key is None and not resource_policy:
        raise ValueError(f"{where}: an identity-based statement needs Resource or NotResource")
    resources = (None if resource_key is None else
                 tuple(_pattern(r, variables) for r in _strings(stmt, resource_key, where)))

    has_p, has_np = "Principal" in stmt, "NotPrincipal" in stmt
    if not resource_policy and (has_p or has_np):
        raise ValueError(f"{where}: Principal/NotPrincipal are not allowed in an identity-based policy")
    if resource_policy and has_p == has_np:
        raise ValueError(f"{where}: a resource-based statement needs exactly one of Principal / NotPrincipal")
    if has_np and effect == "Allow":
        raise ValueError(f"{where}: NotPrincipal is only supported with Effect Deny")
    principals = _compile_principal(stmt["Principal" if has_p else "NotPrincipal"], where) if (has_p or has_np) else None

    conditions = _compile_conditions(stmt["Condition"], where, variables) if "Condition" in stmt else ()
    return _Statement(label, effect == "Deny", patterns,
                      tuple(None if p == "*" else _action_regex(p) for p in patterns),
                      action_key == "NotAction", resources, resource_key == "NotResource",
                      principals, has_np, conditions)


def _compile(policy, resource_policy: bool) -> tuple:
    if not isinstance(policy, dict):
        raise ValueError("a policy document must be a JSON object")
    unknown = set(policy) - _POLICY_KEYS
    if unknown:
        raise ValueError(f"policy: unknown element(s) {sorted(unknown)}")
    version = policy.get("Version")
    if version not in (None, "2012-10-17", "2008-10-17"):
        raise ValueError(f"policy: unknown Version {version!r}")
    # Policy variables exist only in version 2012-10-17; otherwise ${...} is literal text.
    variables = version == "2012-10-17"
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise ValueError("policy: Statement must be an object or a list")
    return tuple(_compile_statement(s, i, resource_policy, variables) for i, s in enumerate(statements))


@functools.lru_cache(maxsize=512)
def _compile_json(text: str, resource_policy: bool) -> tuple:
    return _compile(json.loads(text), resource_policy)


def _statements(policy, resource_policy: bool) -> tuple:
    """Compiled statements, cached on the policy's JSON text (so a mutated dict recompiles)."""
    try:
        text = json.dumps(policy, separators=(",", ":"))
    except (TypeError, ValueError):
        return _compile(policy, resource_policy)
    return _compile_json(text, resource_policy)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------

def _context(context) -> dict:
    return {str(k).lower(): v for k, v in context.items()} if context else {}


def _matches(st: _Statement, action: str, resource: str, ctx: dict) -> bool:
    """Action, Resource and Condition all match (action lower-cased). False when a policy
    variable can't be resolved."""
    hit = any(r is None or r.fullmatch(action) for r in st.actions)
    if hit == st.not_action:
        return False
    try:
        if st.resources is not None:
            if resource == "*":
                # No resource-level permissions: only "Resource": "*" covers the request.
                for p in st.resources:
                    if p.has_vars:
                        p.compiled(ctx)  # an unresolved variable still voids the statement
                hit = any(p.star_only for p in st.resources)
            else:
                regexes = [p.compiled(ctx) for p in st.resources]
                hit = any(r.fullmatch(resource) for r in regexes)
            if hit == st.not_resource:
                return False
        return all(c.holds(ctx) for c in st.conditions)
    except _Unresolved:
        return False


def _account_of(value: str) -> str | None:
    """The account a principal value names as a whole (bare id or root ARN), else None."""
    if _ACCOUNT_RE.fullmatch(value):
        return value
    m = _ROOT_RE.fullmatch(value)
    return m.group(1) if m else None


def _principal_level(entries, p: Principal) -> str | None:
    """"direct" when the Principal names the caller (or everyone), "account" when it names only
    the caller's account (which delegates to the account's IAM policies), else None."""
    level = None
    for kind, value in entries:
        if kind == "*":
            return "direct"
        if kind == "AWS" and not p.service:  # {"AWS": "*"}: any AWS principal, not a service
            if value == "*" or value == p.arn or value == p.role_arn:
                return "direct"
            if _account_of(value) == p.account:
                if _account_of(p.arn) == p.account:  # the account root itself
                    return "direct"
                level = "account"
        elif kind == "Service" and p.service and value.lower() == p.service.lower():
            return "direct"
    return level


def _not_principal_excludes(entries, p: Principal) -> bool:
    """NotPrincipal exempts the caller only if every identity AWS may check is listed: the
    account, then the role, then the session/user (reference_policies_elements_notprincipal)."""
    def listed(check):
        return any(kind == "*" or check(kind, value) for kind, value in entries)

    if p.service:
        return listed(lambda k, v: k == "Service" and v.lower() == p.service.lower())
    chain = [lambda k, v: k == "AWS" and (v == "*" or _account_of(v) == p.account)]
    if p.role_arn:
        chain.append(lambda k, v: k == "AWS" and v in ("*", p.role_arn))
    if _account_of(p.arn) != p.account:
        chain.append(lambda k, v: k == "AWS" and v in ("*", p.arn))
    return all(listed(c) for c in chain)


def _evaluate_resource(policy, principal, action, resource, context):
    """-> (Decision, label of a direct Allow or None, label of an account-level Allow or None)."""
    statements = _statements(policy, True)
    ctx, action = _context(context), action.lower()
    direct = account = None
    for st in statements:
        if st.not_principal:
            level = None if _not_principal_excludes(st.principals, principal) else "direct"
        else:
            level = _principal_level(st.principals, principal)
        if level is None or (not st.deny and (direct or (level == "account" and account))):
            continue  # no need to evaluate an Allow that can't change the outcome
        if not _matches(st, action, resource, ctx):
            continue
        if st.deny:
            return Decision(EXPLICIT_DENY, st.label), None, None
        if level == "direct":
            direct = direct or st.label
        else:
            account = account or st.label
    first = direct or account
    return (Decision(ALLOW, first) if first else Decision(IMPLICIT_DENY, None)), direct, account


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def evaluate_identity(policies, action, resource, context) -> Decision:
    """Identity-based policies (a list of policy dicts): explicit Deny in any statement wins,
    else the first matching Allow, else implicit deny. Context keys are case-insensitive."""
    if isinstance(policies, dict):
        policies = [policies]
    compiled = [_statements(p, False) for p in policies or ()]  # validate all, even after a deny
    ctx, action = _context(context), action.lower()
    allow = None
    for statements in compiled:
        for st in statements:
            if (st.deny or allow is None) and _matches(st, action, resource, ctx):
                if st.deny:
                    return Decision(EXPLICIT_DENY, st.label)
                allow = st.label
    return Decision(ALLOW, allow) if allow else Decision(IMPLICIT_DENY, None)


def evaluate_resource_policy(policy, principal, action, resource, context) -> Decision:
    """A resource-based policy (KMS key, SNS topic, role trust policy): statements must match
    Principal/NotPrincipal too. An account principal ({"AWS": "123456789012"} or its root ARN)
    matches any principal of that account here; authorize() treats such a match as delegation
    to IAM, as AWS does. A statement without Resource matches any resource."""
    return _evaluate_resource(policy, principal, action, resource, context)[0]


def _covers_all(pattern: str, prefix: str) -> bool:
    """Does action pattern cover every action starting with prefix (e.g. "kms:")?"""
    m = re.search(r"[*?]", pattern)
    return (m is not None and pattern[m.start()] == "*" and not pattern[m.start():].strip("*")
            and prefix.startswith(pattern[:m.start()]))


def _may_overlap(pattern: str, prefix: str) -> bool:
    """Could pattern match some action starting with prefix? (conservative: True when unsure)"""
    m = re.search(r"[*?]", pattern)
    head = pattern if m is None else pattern[:m.start()]
    return head.startswith(prefix) or prefix.startswith(head)


def key_policy_allows_iam(policy, account, action="kms:*") -> bool:
    """True when the key policy has an unconditional Allow for the account principal
    (arn:<partition>:iam::<account>:root or the bare id) covering `action`: that statement is
    what lets IAM policies grant access to the key. action="kms:*" (or any "prefix*") requires
    the statement to cover every such action; a specific action requires it to cover that one.
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam"""
    action = action.lower()
    star = action.find("*")
    if star != -1 and (star != len(action) - 1 or "?" in action):
        raise ValueError(f"action must be one action or end in a single '*': {action!r}")
    prefix = action[:-1] if star != -1 else None
    for st in _statements(policy, True):
        if st.deny or st.not_principal or st.conditions:
            continue
        if not any(kind == "AWS" and _account_of(value) == account for kind, value in st.principals):
            continue
        if prefix is not None:
            covered = (not any(_may_overlap(p, prefix) for p in st.action_patterns) if st.not_action
                       else any(_covers_all(p, prefix) for p in st.action_patterns))
        else:
            covered = any(r is None or r.fullmatch(action) for r in st.actions) != st.not_action
        if covered:
            return True
    return False


def authorize(identity_policies, principal, action, resource, context,
              resource_policy=None, kind="same-account") -> Decision:
    """Identity and resource policy combined; an explicit deny in either wins.
    kind="same-account" (default; SNS topics): allowed when the identity policies allow or the
    resource policy allows the caller directly (by its ARN, role ARN, service or "*"). A resource
    policy statement naming only the account delegates to IAM and does not grant by itself.
    kind="kms": the key policy decides; the identity policies may also grant when the key policy
    enables IAM (key_policy_allows_iam, or a conditional account-principal Allow that matches).
    kind="trust" (role trust policy, action sts:AssumeRole): like "kms" without the
    key_policy_allows_iam shortcut: the trust policy must allow the caller, or allow its account
    and then the identity policies must allow too.
    Without a resource policy the identity policies decide."""
    if kind not in ("same-account", "kms", "trust"):
        raise ValueError(f"unknown kind {kind!r}")
    ident = evaluate_identity(identity_policies, action, resource, context)
    if resource_policy is None:
        return ident
    res, direct, account = _evaluate_resource(resource_policy, principal, action, resource, context)
    if ident.effect == EXPLICIT_DENY:
        return ident
    if res.effect == EXPLICIT_DENY:
        return res
    if direct:
        return Decision(ALLOW, direct)
    if ident.effect == ALLOW and (
            kind == "same-account" or account
            or (kind == "kms" and key_policy_allows_iam(resource_policy, principal.account, action))):
        return ident
    return Decision(IMPLICIT_DENY, None)
