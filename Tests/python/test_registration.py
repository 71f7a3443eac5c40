"""lv-registration from Python: the whole participation and credit path over the protocol."""
import pytest

from lvrpc import Client, RPCError, StatusCode, message_class

SERVICE = "lv.registration.v1.Registration"


def M(name):
    return message_class(f"lv.registration.v1.{name}")


def npi(n):
    """A valid NPI: Luhn check digit over 80840 + nine digits (independent Python implementation)."""
    nine = f"{300000000 + n:09d}"
    digits = [int(c) for c in "80840" + nine]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return nine + str((10 - total % 10) % 10)


def call(c, method, request, response):
    return c.call(f"{SERVICE}/{method}", request, f"lv.registration.v1.{response}")


@pytest.fixture
def registration(tmp_path):
    from conftest import RunningServer
    s = RunningServer("lv-registration", tmp_path)
    yield s
    assert s.stop() == 0


def test_event_from_python(registration):
    T0 = 1_795_701_600_000  # 2026-11-26T14:00:00Z
    with Client(registration.host, registration.port) as c:
        activity = M("Activity")(
            activity_id="py-act", title="Sepsis bundle", type=1, start_date="2026-11-26", end_date="2026-11-26",
            max_credits=1.0, target_moore_level=4,
            objectives=[M("LearningObjective")(id="obj-1", text="Give antibiotics within one hour")])
        r = call(c, "CreateActivity", M("CreateActivityRequest")(request_id="py-1", activity=activity), "CreateActivityResponse")
        assert r.created and r.activity.activity_id == "py-act"
        s = call(c, "AddSession", M("AddSessionRequest")(request_id="py-2", session=M("Session")(
            activity_id="py-act", title="Bundle", start_ms=T0, end_ms=T0 + 3_600_000, objective_ids=["obj-1"])),
            "AddSessionResponse").session
        p = M("Physician")(npi=npi(1), given_name="Grace", family_name="Hopper", specialty="Emergency Medicine",
                           licences=[M("Licence")(state="NY", number="123")])
        assert call(c, "RegisterPhysician", M("RegisterPhysicianRequest")(request_id="py-3", physician=p),
                    "RegisterPhysicianResponse").created
        call(c, "Enroll", M("EnrollRequest")(request_id="py-4", activity_id="py-act", npi=npi(1), cohort=1), "EnrollResponse")
        call(c, "CheckIn", M("CheckInRequest")(npi=npi(1), session_id=s.session_id, at_ms=T0 + 5 * 60_000), "CheckInResponse")
        out = call(c, "CheckOut", M("CheckOutRequest")(npi=npi(1), session_id=s.session_id, at_ms=T0 + 50 * 60_000),
                   "CheckOutResponse")
        assert out.session_minutes == 45
        with pytest.raises(RPCError) as e:
            call(c, "ClaimCredit", M("ClaimCreditRequest")(request_id="py-5", activity_id="py-act", npi=npi(1), credits=1.0),
                 "ClaimCreditResponse")
        assert e.value.code == StatusCode.FAILED_PRECONDITION
        assert [v.rule for v in e.value.violations] == ["time-attended"]
        claim = call(c, "ClaimCredit", M("ClaimCreditRequest")(request_id="py-6", activity_id="py-act", npi=npi(1), credits=0.75),
                     "ClaimCreditResponse").claim
        assert claim.credits == 0.75 and claim.minutes_attended == 45


def test_invalid_npi_names_the_field_and_rule(registration):
    with Client(registration.host, registration.port) as c:
        bad = M("Physician")(npi="1234567890", given_name="A", family_name="B")
        with pytest.raises(RPCError) as e:
            call(c, "RegisterPhysician", M("RegisterPhysicianRequest")(request_id="x", physician=bad), "RegisterPhysicianResponse")
        assert e.value.code == StatusCode.INVALID_ARGUMENT
        assert [(v.field, v.rule) for v in e.value.violations] == [("physician.npi", "luhn")]
