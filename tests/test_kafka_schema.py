"""The Kafka wire format and the kafka:// spec, without a broker."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka_fixtures import make_market

from feeds.errors import FeedError
from feeds.kafka import schema
from feeds.kafka.consumer import parse_spec


def _columns_of(md, rows):
    msg = schema.decode(schema.RowEncoder(md, "run-1").encode(rows))
    assert isinstance(msg, schema.Snapshots) and msg.run == "run-1"
    return msg


def test_single_row_is_a_named_field_snapshot_with_exact_integers():
    md = make_market(5)
    value = schema.RowEncoder(md, "abc").encode([0])
    obj = json.loads(value)
    assert obj["schema"] == "sor.snapshot/1" and obj["run"] == "abc" and obj["seq"] == 0
    assert obj["price"] == 9_223_372_036_854_775_807  # no float on the way
    assert obj["ask_px"] == md.ask_px[0].tolist()
    assert obj["action"] == chr(md.action[0]) and obj["side"] == chr(md.side[0])
    assert b" " not in value  # compact separators


def test_batch_decodes_to_the_same_rows_as_the_source():
    md = make_market(200)
    rows = [i for i in range(len(md)) if md.venue[i] == 5]
    msg = _columns_of(md, rows)
    assert msg.seq.tolist() == rows
    for name in schema.FIELDS:
        np.testing.assert_array_equal(msg.columns[name], getattr(md, name)[rows], err_msg=name)
    assert msg.snapshot(3) == md.snapshot(rows[3])


def test_markers_round_trip():
    start = schema.StartMarker("r", 1, 3, 10, 10, "synthetic:x", "AAPL", 123)
    end = schema.EndMarker("r", 2, 3, 10, 10, "a.csv", "", 99, {"crossed_book": 4})
    assert schema.decode(schema.encode_start(start)) == start
    assert schema.decode(schema.encode_end(end)) == end
    assert schema.might_be_marker(schema.encode_start(start))
    assert schema.might_be_marker(schema.encode_end(end))


def test_data_messages_are_never_taken_for_markers():
    md = make_market(50)
    assert not schema.might_be_marker(schema.RowEncoder(md, "r").encode([0]))
    assert not schema.might_be_marker(schema.RowEncoder(md, "r").encode(list(range(3))))


def _snapshot_obj(**changes):
    obj = json.loads(schema.RowEncoder(make_market(3), "r").encode([1]))
    obj.update(changes)
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schema": "sor.snapshot/9"}', "unknown schema"),
        (None, "empty message"),
        (_snapshot_obj(price=1.5), "'price' must be an integer"),
        (_snapshot_obj(price=True), "'price' must be an integer"),
        (_snapshot_obj(seq=-1), "'seq' must be >= 0"),
        (_snapshot_obj(action="TT"), "'action' must be one ASCII character"),
        (_snapshot_obj(bid_px=[1, 2]), "same number of levels"),
        (_snapshot_obj(ask_sz=[1, True, 3, 4, 5, 6, 7, 8, 9, 10]), "'ask_sz' must hold"),
        (_snapshot_obj(ask_px=[2**63] * 10), "'ask_px' must hold"),
        (_snapshot_obj(run='a"b'), "bad run id"),
        (_snapshot_obj(venue=None), "'venue' must be an integer"),
    ],
)
def test_malformed_values_are_rejected_with_the_reason(value, reason):
    with pytest.raises(schema.MalformedMessage, match=reason):
        schema.decode(value)


def test_batch_with_a_boolean_hidden_among_integers_is_rejected():
    md = make_market(20)
    obj = json.loads(schema.RowEncoder(md, "r").encode([0, 1, 2]))
    obj["size"][1] = True
    with pytest.raises(schema.MalformedMessage, match="'size' must hold"):
        schema.decode(json.dumps(obj).encode())


def test_batch_with_a_short_column_is_rejected():
    md = make_market(20)
    obj = json.loads(schema.RowEncoder(md, "r").encode([0, 1, 2]))
    obj["ts_recv"] = obj["ts_recv"][:2]
    with pytest.raises(schema.MalformedMessage, match="'ts_recv' must hold 3"):
        schema.decode(json.dumps(obj).encode())


def test_run_ids_are_checked():
    assert schema.check_run_id("0f3a-run_1.b") == "0f3a-run_1.b"
    for bad in ("", "a b", "x" * 65, 'q"'):
        with pytest.raises(ValueError, match="bad run id"):
            schema.check_run_id(bad)


def test_kafka_spec_parses_address_topic_and_options():
    spec = parse_spec("kafka://10.0.0.5:19092/prices?run=abc&wait=2.5&idle=7")
    assert (spec.bootstrap, spec.topic, spec.run, spec.wait_s, spec.idle_s) == (
        "10.0.0.5:19092",
        "prices",
        "abc",
        2.5,
        7,
    )
    assert str(spec) == "kafka://10.0.0.5:19092/prices?run=abc"
    assert parse_spec("kafka://127.0.0.1:9092").topic == "mock_l1_stream"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://x:1/t", "not a kafka source"),
        ("kafka:///t", "not a kafka source"),
        ("kafka://h:1/a/b", "has no '/'"),
        ("kafka://h:1/t?bogus=1", "unknown query key"),
        ("kafka://h:1/t?wait=soon", "not a number of seconds"),
        ("kafka://h:1/t?run=a%20b", "bad run id"),
    ],
)
def test_bad_kafka_specs_are_feed_errors(text, reason):
    with pytest.raises(FeedError, match=reason):
        parse_spec(text)


def _one_by_one(values: list[bytes], run: str) -> tuple[dict[str, list], int]:
    rows: dict[str, list] = {}
    bad = 0
    for value in values:
        try:
            msg = schema.decode(value)
        except schema.MalformedMessage:
            bad += 1
            continue
        for name, col in msg.columns.items():
            rows.setdefault(name, []).extend(col.tolist())
    return rows, bad


def _messages(md, run: str, batch: int) -> list[bytes]:
    enc = schema.RowEncoder(md, run)
    by_venue: dict[int, list[int]] = {}
    values = []
    for i, v in enumerate(md.venue.tolist()):
        by_venue.setdefault(v, []).append(i)
        if len(by_venue[v]) == batch:
            values.append(enc.encode(by_venue.pop(v)))
    values += [enc.encode(rows) for rows in by_venue.values()]
    return values


@settings(deadline=None, max_examples=30)
@given(st.integers(0, 2**16), st.integers(1, 9), st.integers(1, 12), st.booleans())
def test_decoding_many_at_once_equals_decoding_one_by_one(seed, batch, levels, canonical):
    from feeds.synthetic import SynthConfig, generate

    if canonical:  # what the producer sends: the text path takes it
        md = generate(SynthConfig(venues=3, seconds=3.0, seed=seed))
        md = attrs.evolve(md, **{name: getattr(md, name)[:, :levels] for name in schema.BOOK})
    else:  # int64 edges, escaped and odd action/side codes: the JSON paths take it
        md = make_market(120, levels=levels, seed=seed)
    values = _messages(md, "run-1", batch)
    got, malformed = schema.decode_many(values, "run-1")
    want, bad = _one_by_one(values, "run-1")
    assert (malformed, bad) == (0, 0)
    assert {name: col.tolist() for name, col in got.columns.items()} == want
    assert (schema._decode_many_text(values, "run-1") is not None) == canonical


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        (b'"size":100', b'"size":0100'),  # a leading zero: no JSON number
        (b'"size":100', b'"size":-'),
        (b'"size":100', b'"size":1-00'),
        (b'"size":100', b'"size":1.5'),
        (b'"size":100', b'"size":true'),
        (b'"size":100', b'"size":99999999999999999999'),
        (b'"size":100', b'"size": 100'),
        (b'"venue":2', b'"venue":"2"'),
    ],
)
def test_decoding_many_counts_each_value_decode_rejects_and_keeps_the_rest(good, bad):
    from feeds.synthetic import SynthConfig, generate

    md = generate(SynthConfig(venues=3, seconds=2.0, seed=3))
    values = _messages(md, "r", 1)[:40]
    hit = next(i for i, v in enumerate(values) if good in v)
    values[hit] = values[hit].replace(good, bad, 1)
    got, malformed = schema.decode_many(values, "r")
    want, rejected = _one_by_one(values, "r")
    assert malformed == rejected
    assert {name: col.tolist() for name, col in got.columns.items()} == want
    if bad != b'"size": 100':  # JSON allows the space: that one is valid, only not canonical
        assert malformed == 1 and len(got) == 39
