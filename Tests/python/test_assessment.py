"""lv-assessment from Python: an instrument, scored answers with a confidence quadrant, a bad answer."""
import pytest

from conftest import RunningServer
from lvrpc import Client, RPCError, StatusCode, message_class
from test_registration import npi

SERVICE = "lv.assessment.v1.Assessment"


def M(name):
    return message_class(f"lv.assessment.v1.{name}")


@pytest.fixture
def assessment(tmp_path):
    s = RunningServer("lv-assessment", tmp_path)
    yield s
    assert s.stop() == 0


def call(c, method, request):
    return c.call(f"{SERVICE}/{method}", request, f"lv.assessment.v1.{method}Response")


def test_instrument_scoring_from_python(assessment):
    item = M("Item")(item_id="q1", type=1, objective_id="obj-1", options=["a", "b", "c"], key=2)
    vignette = M("Item")(item_id="v1", type=3, objective_id="obj-1", criteria=["x", "y", "z", "w"])
    instrument = M("Instrument")(instrument_id="py-post", activity_id="py-act", kind=2, items=[item, vignette])
    with Client(assessment.host, assessment.port) as c:
        created = call(c, "CreateInstrument", M("CreateInstrumentRequest")(request_id="py-i", instrument=instrument))
        assert created.created and created.instrument.version == 1 and created.instrument.phase == 2
        answers = [M("Answer")(item_id="q1", choice=0, confidence=5),
                   M("Answer")(item_id="v1", criteria=M("CriteriaMet")(met=[0, 1, 3]))]
        s = call(c, "SubmitResponses", M("SubmitResponsesRequest")(submission_id="py-s", instrument_id="py-post",
                                                                     npi=npi(9), answers=answers)).submission
        assert [i.score for i in s.items] == [0.0, 0.75]
        assert s.items[0].quadrant == 4  # wrong and confident: misinformation
        assert s.total == pytest.approx(0.375)
        with pytest.raises(RPCError) as e:
            call(c, "SubmitResponses", M("SubmitResponsesRequest")(
                submission_id="py-bad", instrument_id="py-post", npi=npi(10), answers=[M("Answer")(item_id="q1", truth=True)]))
        assert e.value.code == StatusCode.INVALID_ARGUMENT
        assert [(v.field, v.rule) for v in e.value.violations] == [("answers[0]", "answer-type")]
