"""The run API's OpenAPI document, from the routes and models themselves (Powertools' generator).

    python -m functions.api.openapi -o docs/openapi.json    (make openapi)

tests/integration/test_openapi.py fails when docs/openapi.json is not what this prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .app import VERSION, app

TITLE = "Sluice run API"
DESCRIPTION = ("Trigger, inspect, cancel, resume and backfill Sluice pipeline runs. Every request is signed with "
               "AWS SigV4 (service execute-api); errors are RFC 9457 problem details.")


PROBLEM = {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "required": ["field", "reason"], "properties": {
        "field": {"type": "string"}, "reason": {"type": "string"}}}}}}
ERRORS = {"400": "invalid request (the field and why)", "404": "no such pipeline, run or backfill",
          "409": "conflicts with the run's state or an earlier request with the same Idempotency-Key",
          "413": "request body too large", "415": "the body is not JSON",
          "500": "unexpected failure (logged with the request id)"}
SIGV4 = {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
         "description": "AWS Signature Version 4 for service execute-api (IAM authorization)"}


def document() -> str:
    """The document Powertools generates, with the errors as the API really answers them: problem details with
    400 (Powertools documents its default 422), and the SigV4 security every method has."""
    schema = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION))
    schema["components"]["schemas"]["Problem"] = PROBLEM
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    schema["components"]["securitySchemes"] = {"sigv4": SIGV4}
    schema["security"] = [{"sigv4": []}]
    for methods in schema["paths"].values():
        for method, operation in methods.items():
            responses = operation["responses"]
            responses.pop("422", None)
            for code, description in ERRORS.items():
                if method == "get" and code in ("409", "413", "415"):
                    continue
                responses[code] = {"description": description, "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="print (or write) the run API's OpenAPI document")
    parser.add_argument("-o", "--output", help="write it to this file")
    args = parser.parse_args()
    if args.output:
        Path(args.output).write_text(document())
    else:
        print(document(), end="")


if __name__ == "__main__":
    main()
