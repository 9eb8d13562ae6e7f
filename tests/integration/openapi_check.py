"""Validates real answers of rollcall-server against docs/openapi.yaml, the public contract.

`check(method, path, status, content_type, body)` finds the operation for the request (the
path template that matches, as the server's route table matches: literal segments and
{name} segments of 1..128 bytes of [A-Za-z0-9._~:@-]), then requires that the status is one
of the operation's documented responses, that the Content-Type is one the response documents
(or no body where it documents none), that the headers it marks required are there (when
the caller passes the headers), and that a JSON body validates against the response's
schema with Draft 2020-12 (python3-jsonschema), $refs resolved within the document.

Outside the document's operations, the server's two generic answers (docs/API.md "How every
request is handled") are accepted: an unknown path is 404 and a known path with another
method 405, each with an {"error", "code", "message"} body. Anything else is undocumented: `check` raises
Undocumented and remembers it, and the test process exits with status 1 at the end even if
the exception was swallowed (a request made in a thread).

Debian packages: python3-yaml, python3-jsonschema."""

import atexit
import json
import os
import re
import sys
import threading
import urllib.parse

import jsonschema
import yaml

SRC = os.environ.get("ROLLCALL_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOC_PATH = os.path.join(SRC, "docs", "openapi.yaml")
SEGMENT = re.compile(r"^[A-Za-z0-9._~:@-]{1,128}$")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class Undocumented(AssertionError):
    """An answer the OpenAPI document does not describe."""


def load(path=DOC_PATH):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.validators = {}
        self.lock = threading.Lock()

    def _resolve(self, node, pointer):
        """Follows a $ref (local: "#/..."); returns (node, its JSON pointer)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 16:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise Undocumented("non-local $ref %s" % ref)
            pointer = ref
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
        return node, pointer

    def _validator(self, pointer):
        with self.lock:
            v = self.validators.get(pointer)
            if v is None:
                # The whole document as the root schema, entered at the response's schema:
                # every "#/components/..." reference then resolves within it. The document's
                # own top-level members (openapi, info, paths, ...) are no JSON Schema keywords.
                root = dict(self.doc)
                root["$ref"] = pointer
                v = jsonschema.Draft202012Validator(root)
                self.validators[pointer] = v
            return v

    def operation(self, method, path):
        """(template, operation or None) for a request; template None when no path matches."""
        raw = urllib.parse.urlsplit(path).path
        segs = [urllib.parse.unquote(s) for s in raw.split("/")]
        for template, item in self.doc.get("paths", {}).items():
            tsegs = template.split("/")
            if len(tsegs) != len(segs):
                continue
            if all((t.startswith("{") and t.endswith("}") and SEGMENT.match(s)) or t == s
                   for t, s in zip(tsegs, segs)):
                m = "get" if method.upper() == "HEAD" else method.lower()
                return template, item.get(m)
        return None, None

    def check(self, method, path, status, content_type, body, headers=None):
        where = "%s %s -> %s" % (method, path, status)
        template, op = self.operation(method, path)
        if template is None or op is None:
            want = 404 if template is None else 405
            if status != want:
                raise Undocumented("%s: %s is not in docs/openapi.yaml (only %d is possible)"
                                   % (where, "the path" if template is None else "the method",
                                      want))
            self._check_error_body(where, content_type, body)
            return
        pointer = "#/paths/%s/%s/responses" % (template.replace("~", "~0").replace("/", "~1"),
                                               "get" if method.upper() == "HEAD"
                                               else method.lower())
        responses = op.get("responses", {})
        key = str(status)
        if key not in responses:
            raise Undocumented("%s: status %s is not documented for %s %s (documented: %s)"
                               % (where, status, method.upper(), template,
                                  ", ".join(sorted(responses))))
        resp, rptr = self._resolve(responses[key], pointer + "/" + key)
        if headers is not None:
            have = {k.lower() for k in headers}
            for name, h in resp.get("headers", {}).items():
                h, _ = self._resolve(h, "")
                if h.get("required") and name.lower() not in have:
                    raise Undocumented("%s: the document requires header %s" % (where, name))
        content = resp.get("content")
        if method.upper() == "HEAD":
            return  # no body, by definition
        if not content:
            if body:
                raise Undocumented("%s: a body where the document defines none" % where)
            return
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in content:
            raise Undocumented("%s: Content-Type %r is not documented (documented: %s)"
                               % (where, content_type, ", ".join(sorted(content))))
        if media != "application/json" and not media.endswith("+json"):
            return
        value = self._json(where, body)
        schema_ptr = "%s/content/%s/schema" % (rptr, media.replace("/", "~1"))
        errors = sorted(self._validator(schema_ptr).iter_errors(value),
                        key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            raise Undocumented("%s: body does not match docs/openapi.yaml at %s: %s"
                               % (where, at, e.message[:300]))

    def _json(self, where, body):
        if isinstance(body, (bytes, bytearray)):
            try:
                return json.loads(body)
            except ValueError as e:
                raise Undocumented("%s: body is not JSON: %s" % (where, e)) from None
        return body

    def _check_error_body(self, where, content_type, body):
        media = (content_type or "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Undocumented("%s: Content-Type %r, not application/json" % (where, content_type))
        value = self._json(where, body)
        if not (isinstance(value, dict) and set(value) == {"error", "code", "message"}
                and all(isinstance(value[k], str) and value[k] for k in value)):
            raise Undocumented("%s: not an {\"error\", \"code\", \"message\"} body: %r"
                               % (where, value))


FAILURES = []
_checker = None
_checker_lock = threading.Lock()


def checker():
    global _checker
    with _checker_lock:
        if _checker is None:
            _checker = Checker(load())
        return _checker


def check(method, path, status, content_type, body, headers=None):
    """Validates one answer against docs/openapi.yaml; raises Undocumented (and remembers it,
    failing the process at exit) when the document does not describe it. headers (names in
    any case), when given, must hold those the response marks required."""
    try:
        checker().check(method, path, status, content_type, body, headers)
    except Undocumented as e:
        FAILURES.append(str(e))
        print("FAIL: OpenAPI: %s" % e, file=sys.stderr, flush=True)
        raise


@atexit.register
def _fail_at_exit():
    if FAILURES:
        print("FAIL: %d answer(s) not described by docs/openapi.yaml" % len(FAILURES),
              file=sys.stderr, flush=True)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(1)
