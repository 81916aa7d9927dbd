"""TracingLayer: keep a valid traceparent's trace, start one when absent, add a request id."""

from __future__ import annotations

from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.layers.tracing import TracingLayer

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_an_incoming_trace_is_continued_with_a_new_span() -> None:
    upstream = Script(ok())
    req = request(headers=[("traceparent", PARENT), ("x-request-id", "abc")])
    await TracingLayer(upstream, config.Tracing()).handle(req)
    [sent] = [v for n, v in upstream.seen[0].request.headers if n == "traceparent"]
    version, trace, span, flags = sent.split("-")
    assert (version, trace, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span != "00f067aa0ba902b7"
    assert (req.trace_id, req.request_id) == (trace, "abc")
    assert [v for n, v in upstream.seen[0].request.headers if n == "x-request-id"] == ["abc"]


async def test_without_a_trace_one_is_started_and_a_request_id_added() -> None:
    upstream = Script(ok())
    req = request()
    await TracingLayer(upstream, config.Tracing(request_id_header="X-Req")).handle(req)
    headers = dict(upstream.seen[0].request.headers)
    version, trace, span, _ = headers["traceparent"].split("-")
    assert (version, len(trace), len(span)) == ("00", 32, 16)
    assert req.trace_id == trace
    assert headers["x-req"] == req.request_id
    assert req.request_id


async def test_a_malformed_traceparent_is_replaced() -> None:
    upstream = Script(ok())
    req = request(headers=[("traceparent", "00-zz-yy-01")])
    await TracingLayer(upstream, config.Tracing()).handle(req)
    sent = [v for n, v in upstream.seen[0].request.headers if n == "traceparent"]
    assert len(sent) == 1
    assert sent[0] != "00-zz-yy-01"


async def test_two_requests_get_different_ids() -> None:
    layer = TracingLayer(Script(ok()), config.Tracing())
    first, second = request(), request()
    await layer.handle(first)
    await layer.handle(second)
    assert first.request_id != second.request_id
    assert first.trace_id != second.trace_id


async def test_propagation_off_forwards_no_traceparent() -> None:
    upstream = Script(ok())
    await TracingLayer(upstream, config.Tracing(propagate=False)).handle(request())
    assert all(n != "traceparent" for n, _ in upstream.seen[0].request.headers)
