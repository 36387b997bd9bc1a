"""The moto speed-ups (sluice/local/moto_speed.py) change no answer: each is run against moto's own path.

- Parsed programs: the cached (and SLL-parsed) program of every example and of a non-series-parallel bench
  pipeline pickles to the same bytes as moto's own parse; the cache parses each definition once, across
  instances through its directory, and a damaged cache file is parsed again and replaced.
- Queries by partition and attribute values as they are: hypothesis writes random items (every attribute type,
  binary ones included, across partitions, some in the run store's indexes) and asks random queries (key
  conditions of every form, both directions, limits and pages, filters, projections, index queries) twice over
  the same moto state, with the patches and without; the answers must be equal.
"""

from __future__ import annotations

import pickle
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from sluice.compile import compile_pipeline
from sluice.local.moto_speed import ProgramCache, attribute_values_as_is, parse, queries_by_partition
from sluice.run_store_schema import create_table_request
from sluice.spec.loader import load_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "pipelines").glob("*.yaml"))


def _definition(path: Path) -> str:
    pipeline, problems = load_file(path)
    assert pipeline is not None, problems
    return compile_pipeline(pipeline).to_json(indent=None)


def _lattice(tmp_path: Path) -> Path:
    """Three layers of four, each task after two of the layer before (not series-parallel: gates)."""
    lines = ["name: lattice", "tasks:"]
    for layer in range(3):
        for slot in range(4):
            deps = [] if layer == 0 else sorted({f"t{layer - 1}_{slot}", f"t{layer - 1}_{(slot + 1) % 4}"})
            lines += [f"  t{layer}_{slot}:", f"    depends_on: [{', '.join(deps)}]", "    lambda: {function: f}"]
    path = tmp_path / "lattice.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _moto_parse(definition: str) -> Any:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return AmazonStateLanguageParser.parse(definition)[0]


@pytest.mark.parametrize("path", [*EXAMPLES, None], ids=[p.stem for p in EXAMPLES] + ["lattice"])
def test_the_fast_parse_gives_the_program_moto_gives(path: Path | None, tmp_path: Path) -> None:
    # GIVEN a compiled definition (an example, or a lattice with gates)
    definition = _definition(path or _lattice(tmp_path))
    # WHEN it is parsed the fast way (SLL first) and moto's way
    # THEN both programs are the same object tree, to the pickled byte
    assert pickle.dumps(parse(definition)) == pickle.dumps(_moto_parse(definition))


def test_a_definition_that_is_not_asl_fails_as_moto_fails() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException

    bad = '{"StartAt": "a", "States": {"a": {"Type": "Nope"}}}'
    with pytest.raises(ASLParserException) as moto_error:
        _moto_parse(bad)
    with pytest.raises(ASLParserException) as fast_error:
        parse(bad)
    assert fast_error.value.errors == moto_error.value.errors


def test_the_cache_parses_each_definition_once_and_hands_out_fresh_copies(tmp_path: Path) -> None:
    # GIVEN a cache with a directory, and a definition
    definition = _definition(EXAMPLES[0])
    cache = ProgramCache(tmp_path)
    # WHEN two executions ask for its program
    first, second = cache.program(definition), cache.program(definition)
    # THEN it was parsed once, each got its own copy, and both equal moto's parse
    assert cache.parses == 1
    assert first is not second
    assert pickle.dumps(first) == pickle.dumps(second) == pickle.dumps(_moto_parse(definition))
    # AND another process's cache (same directory) reads the file instead of parsing
    again = ProgramCache(tmp_path)
    assert pickle.dumps(again.program(definition)) == pickle.dumps(first)
    assert again.parses == 0
    # AND a definition that differs by one byte is parsed anew
    assert again.program(definition.replace('"StartAt"', ' "StartAt"', 1)) is not None
    assert again.parses == 1


def test_a_damaged_cache_file_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    definition = _definition(EXAMPLES[0])
    ProgramCache(tmp_path).program(definition)
    (file,) = (tmp_path / "asl").glob("*.pickle")
    file.write_bytes(b"not a pickle")
    cache = ProgramCache(tmp_path)
    assert pickle.dumps(cache.program(definition)) == pickle.dumps(_moto_parse(definition))
    assert cache.parses == 1
    assert pickle.loads(file.read_bytes()) is not None  # nosec B301  # the test's own cache file


def test_a_cache_that_cannot_be_written_still_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    cache = ProgramCache(blocked)
    definition = _definition(EXAMPLES[0])
    assert pickle.dumps(cache.program(definition)) == pickle.dumps(_moto_parse(definition))
    assert ProgramCache(None).program(definition) is not None


# ---- DynamoDB: the same answers with the patches as without ----------------------------------------------------

TABLE = "speed"
NAMES = st.text(string.ascii_lowercase[:4], min_size=1, max_size=3)
SCALARS: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=8)),
    st.builds(lambda n: {"N": str(n)}, st.integers(-10**6, 10**6)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda b: {"B": b}, st.binary(max_size=6)),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(min_size=1, max_size=4), min_size=1, max_size=3)),
    st.builds(lambda s: {"NS": sorted(str(n) for n in s)}, st.sets(st.integers(0, 99), min_size=1, max_size=3)),
    st.builds(lambda s: {"BS": sorted(s)}, st.sets(st.binary(min_size=1, max_size=3), min_size=1, max_size=2)),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.builds(lambda values: {"L": values}, st.lists(inner, max_size=3)),
    st.builds(lambda values: {"M": values}, st.dictionaries(NAMES, inner, max_size=3))), max_leaves=6)
ITEMS = st.lists(st.fixed_dictionaries(
    {"pk": st.sampled_from(["RUN#a", "RUN#b", "RUN#c"]), "sk": st.text("AB#12", min_size=1, max_size=5)},
    optional={"job_key": st.sampled_from(["j1", "j2"]), "active_pk": st.just("OPEN"),
              "active_sk": st.text("xy", min_size=1, max_size=3), "data": VALUES, "other": VALUES}),
    max_size=25)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    index = draw(st.sampled_from([None, "by_job", "active"]))
    if index == "by_job":
        request: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": "job_key = :h",
                                   "ExpressionAttributeValues": {":h": {"S": draw(st.sampled_from(["j1", "j2"]))}}}
    elif index == "active":
        request = {"IndexName": index, "KeyConditionExpression": "active_pk = :h",
                   "ExpressionAttributeValues": {":h": {"S": "OPEN"}}}
    else:
        pk = draw(st.sampled_from(["RUN#a", "RUN#b", "RUN#c", "RUN#none"]))
        form = draw(st.sampled_from(["", " AND sk = :x", " AND begins_with(sk, :x)", " AND sk BETWEEN :x AND :y",
                                     " AND sk < :x", " AND sk >= :x"]))
        request = {"KeyConditionExpression": "pk = :h" + form, "ConsistentRead": True,
                   "ExpressionAttributeValues": {":h": {"S": pk}}}
        bounds = sorted(draw(st.lists(st.text("AB#12", min_size=1, max_size=3), min_size=2, max_size=2)))
        for name, bound in zip((":x", ":y"), bounds, strict=True):
            if name in form:
                request["ExpressionAttributeValues"][name] = {"S": bound}
    if draw(st.booleans()):
        request["ScanIndexForward"] = False
    if draw(st.booleans()):
        request["Limit"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        request["FilterExpression"] = "attribute_exists(#d)"
        request["ExpressionAttributeNames"] = {"#d": "data"}
    elif draw(st.booleans()):
        request["ProjectionExpression"] = "pk, sk, #o"
        request["ExpressionAttributeNames"] = {"#o": "other"}
    return request


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the query (following LastEvaluatedKey), without the per-request metadata."""
    pages, start = [], None
    for _ in range(50):
        page = client.query(TableName=TABLE, **request, **({"ExclusiveStartKey": start} if start else {}))
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages
    raise AssertionError("a query that never ends")


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(**create_table_request(TABLE))
        yield client


def _fill(client: Any, items: list[dict[str, Any]]) -> None:
    for old in client.scan(TableName=TABLE)["Items"]:
        client.delete_item(TableName=TABLE, Key={"pk": old["pk"], "sk": old["sk"]})
    for item in items:
        client.put_item(TableName=TABLE, Item={k: v if isinstance(v, dict) else {"S": v} for k, v in item.items()})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=ITEMS, asked=st.lists(queries(), min_size=1, max_size=4))
def test_queries_answer_the_same_with_the_patches(dynamodb: Any, items: list[dict[str, Any]],
                                                  asked: list[dict[str, Any]]) -> None:
    # GIVEN random items across partitions and indexes
    _fill(dynamodb, items)
    for request in asked:
        # WHEN the same query is asked without the patches and with them
        plain = _pages(dynamodb, request)
        with queries_by_partition(), attribute_values_as_is():
            fast = _pages(dynamodb, request)
        # THEN every page is the same
        assert fast == plain, request


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=ITEMS.filter(bool))
def test_item_reads_and_writes_answer_the_same_with_the_patches(dynamodb: Any, items: list[dict[str, Any]]) -> None:
    key = {"pk": {"S": items[0]["pk"]}, "sk": {"S": items[0]["sk"]}}

    def answers() -> list[Any]:
        _fill(dynamodb, items)  # the same state for both passes: the update writes
        got = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
        updated = dynamodb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET #n = if_not_exists(#n, :z)",
                                       ExpressionAttributeNames={"#n": "n"},
                                       ExpressionAttributeValues={":z": {"N": "0"}}, ReturnValues="ALL_NEW")
        scanned = dynamodb.scan(TableName=TABLE)
        return [{k: v for k, v in answer.items() if k != "ResponseMetadata"} for answer in (got, updated, scanned)]

    plain = answers()
    with queries_by_partition(), attribute_values_as_is():
        assert answers() == plain


# ---- the interpreter's clients and JSONPaths ---------------------------------------------------------------------

def test_the_interpreter_gets_one_client_per_region_and_service() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    from sluice.local.moto_speed import clients_reused

    original = lambda_eval_utils.boto_client_for
    with mock_aws(), clients_reused():
        first = lambda_eval_utils.boto_client_for("eu-west-1", "lambda")
        assert lambda_eval_utils.boto_client_for("eu-west-1", "lambda", {"RoleArn": "r"}) is first
        assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is not first
        assert first.meta.region_name == "eu-west-1" and first.meta.service_model.service_name == "lambda"
    assert lambda_eval_utils.boto_client_for is original


@pytest.mark.parametrize("path", ["$", "$.a", "$.a.b[0]", "$.items[*].id", "$..id", "$.a[?(@.id > 1)]", "$['x y']"])
def test_json_paths_parsed_once_find_what_a_fresh_parse_finds(path: str) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    from sluice.local.moto_speed import json_paths_parsed_once

    data = {"a": [{"id": 1}, {"id": 2, "b": [3]}], "items": [{"id": "x"}], "x y": True}
    fresh = [match.value for match in json_path.parse(path).find(data)]
    with json_paths_parsed_once():
        twice = [[match.value for match in json_path.parse(path).find(data)] for _ in range(2)]
        assert json_path.parse(path) is json_path.parse(path)
    assert twice == [fresh, fresh]


def test_responses_read_the_same_with_their_keys_listed_once() -> None:
    # GIVEN moto state in several services whose responses are built from dicts and from model objects
    from sluice.local.moto_speed import response_keys_listed_once

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        iam, lam, sfn, ecs, glue = (boto3.client(s, region_name="eu-west-1")
                                    for s in ("iam", "lambda", "stepfunctions", "ecs", "glue"))
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}", Tags=[{"Key": "k", "Value": "v"}])
        lam.create_function(FunctionName="f", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="h.h",
                            Code={"ZipFile": b"x"}, Environment={"Variables": {"A": "1"}})
        machine = sfn.create_state_machine(name="m", roleArn=role["Role"]["Arn"], definition=(
            '{"StartAt": "p", "States": {"p": {"Type": "Pass", "Result": {"a": [1, {"b": null}]}, "Next": "w"},'
            ' "w": {"Type": "Wait", "Seconds": 0, "End": true}}}'))["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input='{"x": 1}')["executionArn"]
        for _ in range(200):
            if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                break
            import time

            time.sleep(0.01)
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="t", containerDefinitions=[{"name": "n", "image": "i", "memory": 64}])
        glue.create_job(Name="j", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k"})
        glue.start_job_run(JobName="j", Arguments={"--a": "b"})

        def answers() -> list[Any]:
            got = [sfn.get_execution_history(executionArn=execution), sfn.describe_execution(executionArn=execution),
                   sfn.describe_state_machine(stateMachineArn=machine), sfn.list_executions(stateMachineArn=machine),
                   lam.get_function(FunctionName="f"), lam.list_functions(), iam.get_role(RoleName="r"),
                   ecs.describe_clusters(clusters=["c"]), ecs.describe_task_definition(taskDefinition="t"),
                   glue.get_job(JobName="j"), glue.get_job_runs(JobName="j")]
            for answer in got:
                answer.pop("ResponseMetadata")
            return got

        # WHEN each is asked without the patch and with it (twice: the second time from the listed keys)
        plain = answers()
        with response_keys_listed_once():
            fast = [answers(), answers()]
        # THEN every answer is the same
        assert fast == [plain, plain]


def test_listed_keys_depend_on_the_member_shape_as_moto_s_do() -> None:
    # GIVEN two list shapes and a dict holding a value under each shape's name and under the member's key
    from botocore.model import ShapeResolver
    from moto.core.serialize import AttributePickerContext, XFormedAttributePicker

    from sluice.local.moto_speed import response_keys_listed_once

    resolver = ShapeResolver({"S": {"type": "string"}, "L1": {"type": "list", "member": {"shape": "S"}},
                              "L2": {"type": "list", "member": {"shape": "S"}}})
    obj = {"x": ["key"], "L1": ["first"], "L2": ["second"]}
    picker = XFormedAttributePicker()

    def picks() -> list[Any]:
        return [picker(AttributePickerContext(obj=obj, key=key, shape=resolver.get_shape_by_name(name)))
                for key, name in [("x", "L1"), ("x", "L2"), ("L1", "L1"), ("y", "L1"), ("x", "S")]]

    # WHEN the same key is picked for each shape, without the patch and with it
    plain = picks()
    with response_keys_listed_once():
        # THEN the picks agree (moto tries a list's shape name before the key)
        assert [picks(), picks()] == [plain, plain]
    assert plain == [["first"], ["second"], ["first"], ["first"], ["key"]]


PAGE_CASES = {
    # a full page (Limit) whose last item ends the range: moto ends the page at the next item, matching or not
    "limit": ([("A", 4, 10), ("B", 2, 10)], "pk = :h AND begins_with(sk, :x)", {":x": {"S": "A"}}, 4),
    # 700 KB of matches, then a small item, then a large one: moto's size limit ends the page at the large one
    "size": ([("B", 2, 350_000), ("C0", 1, 10), ("C1", 1, 350_000)], "pk = :h AND begins_with(sk, :x)",
             {":x": {"S": "B"}}, None),
    "between": ([("A", 3, 300_000), ("B", 3, 300_000), ("C", 3, 300_000)], "pk = :h AND sk BETWEEN :x AND :y",
                {":x": {"S": "A2"}, ":y": {"S": "C0"}}, None),
    "after": ([("A", 3, 300_000), ("B", 3, 10)], "pk = :h AND sk > :x", {":x": {"S": "A1"}}, 2),
}


@pytest.mark.parametrize("case", PAGE_CASES)
def test_pages_end_where_moto_ends_them(dynamodb: Any, case: str) -> None:
    # GIVEN a partition whose items sit around and inside a key range, some large (pages are at most 1 MB)
    groups, condition, values, limit = PAGE_CASES[case]
    _fill(dynamodb, [{"pk": "RUN#a", "sk": prefix + (str(i) if count > 1 else ""), "data": {"S": "x" * size}}
                     for prefix, count, size in groups for i in range(count)])
    for forward in (True, False):
        request = {"KeyConditionExpression": condition, "ScanIndexForward": forward,
                   "ExpressionAttributeValues": {":h": {"S": "RUN#a"}, **values}} | ({"Limit": limit} if limit else {})
        # WHEN the query is asked page by page without the patches and with them
        plain = _pages(dynamodb, request)
        with queries_by_partition(), attribute_values_as_is():
            fast = _pages(dynamodb, request)
        # THEN the pages end at the same items
        assert [[i["sk"] for i in p["Items"]] for p in fast] == [[i["sk"] for i in p["Items"]] for p in plain]
        assert fast == plain
