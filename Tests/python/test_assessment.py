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


def test_every_instrument_kind_commitments_and_measures_from_python(assessment):
    mc = lambda i, obj="obj-1", control=False: M("Item")(item_id=i, type=1, objective_id="" if control else obj, control=control,
                                                       options=["a", "b"], key=1)
    kinds = {
        "pre": (1, 0, 0, [mc("q1"), mc("c1", control=True)]),
        "post": (2, 0, 0, [mc("q1"), mc("c1", control=True)]),
        "follow": (3, 0, 30, [mc("q1")]),
        "vignette": (4, 2, 0, [M("Item")(item_id="v1", type=3, objective_id="obj-1", criteria=["x", "y"])]),
        "evaluation": (5, 0, 0, [M("Item")(item_id="l1", type=4, likert_points=5)]),
        "commitment": (6, 0, 0, []),
    }
    with Client(assessment.host, assessment.port) as c:
        for name, (kind, phase, days, items) in kinds.items():
            i = M("Instrument")(instrument_id=f"k-{name}", activity_id="k-act", kind=kind, phase=phase, follow_up_days=days, items=items)
            assert call(c, "CreateInstrument", M("CreateInstrumentRequest")(request_id=f"k-{name}", instrument=i)).created
        answers = {
            "pre": [M("Answer")(item_id="q1", choice=0), M("Answer")(item_id="c1", choice=1)],
            "post": [M("Answer")(item_id="q1", choice=1), M("Answer")(item_id="c1", choice=1)],
            "follow": [M("Answer")(item_id="q1", choice=1)],
            "vignette": [M("Answer")(item_id="v1", criteria=M("CriteriaMet")(met=[1]))],
            "evaluation": [M("Answer")(item_id="l1", likert=5)],
        }
        for name, a in answers.items():
            s = call(c, "SubmitResponses", M("SubmitResponsesRequest")(submission_id=f"k-s-{name}", instrument_id=f"k-{name}",
                                                                         npi=npi(11), answers=a)).submission
            assert s.kind == kinds[name][0]
        commitment = call(c, "RecordCommitment", M("RecordCommitmentRequest")(request_id="k-c", commitment=M("Commitment")(
            activity_id="k-act", npi=npi(11), text="Screen for HF in diabetes", objective_id="obj-1", category="screening"))).commitment
        followed = call(c, "RecordFollowUp", M("RecordFollowUpRequest")(commitment_id=commitment.commitment_id,
                                                                        follow_up=M("FollowUp")(implementation=2, barriers=["time"]))).commitment
        assert followed.follow_up.implementation == 2
        measure = lambda phase, num: M("PracticeMeasure")(npi=npi(11), activity_id="k-act", measure_code="M1", period_start="2026-01-01",
                                                         period_end="2026-03-31", numerator=num, denominator=10, source=2, phase=phase)
        r = call(c, "RecordPracticeMeasures", M("RecordPracticeMeasuresRequest")(request_id="k-m", measures=[measure(1, 3), measure(2, 6), measure(1, 11)]))
        assert r.accepted == 2 and [v.rule for v in r.rejected] == ["at-most-denominator"]
        [o] = call(c, "GetOutcomes", M("GetOutcomesRequest")(activity_id="k-act")).physicians
        assert {s.instrument_id for s in o.submissions} == {f"k-{n}" for n in answers}
        assert [(p.item_id, p.from_phase, p.to_phase) for p in o.item_pairs] == [("c1", 1, 2), ("q1", 1, 2), ("q1", 2, 3)]
        assert o.measures[0].baseline_numerator == 3 and o.measures[0].follow_up_numerator == 6
