"""lv-engagement from Python: a batch with a bad event, dedup on retry, and the summary."""
import time

import pytest

from conftest import RunningServer
from lvrpc import Client, message_class
from test_registration import npi

SERVICE = "lv.engagement.v1.Engagement"


def M(name):
    return message_class(f"lv.engagement.v1.{name}")


@pytest.fixture
def engagement(tmp_path):
    s = RunningServer("lv-engagement", tmp_path)
    yield s
    assert s.stop() == 0


def test_record_and_summarize(engagement):
    now = int(time.time() * 1000) - 60_000
    events = [
        M("Event")(event_id="py-1", npi=npi(7), verb=1, activity_id="py-act", timestamp_ms=now,
                   result=M("Result")(duration_ms=30 * 60_000)),
        M("Event")(event_id="py-2", npi=npi(7), verb=2, activity_id="py-act", timestamp_ms=now + 1000),  # answered, no object
        M("Event")(event_id="py-3", npi=npi(7), verb=10, activity_id="py-act", timestamp_ms=now + 2000,
                   result=M("Result")(rating=5)),
    ]
    with Client(engagement.host, engagement.port) as c:
        r = c.call(f"{SERVICE}/RecordEvents", M("RecordEventsRequest")(events=events), "lv.engagement.v1.RecordEventsResponse")
        assert r.accepted == 2 and r.duplicates == 0
        assert [(v.field, v.rule) for v in r.rejected] == [("events[1].object_id", "required")]
        r = c.call(f"{SERVICE}/RecordEvents", M("RecordEventsRequest")(events=events), "lv.engagement.v1.RecordEventsResponse")
        assert r.accepted == 0 and r.duplicates == 2
        s = c.call(f"{SERVICE}/GetEngagementSummary",
                   M("GetEngagementSummaryRequest")(activity_id="py-act", scheduled_minutes=60),
                   "lv.engagement.v1.GetEngagementSummaryResponse")
        [p] = s.physicians
        assert p.npi == npi(7) and p.active_minutes == 30 and p.mean_rating == 5
        # presence 0.5·.35 + attention 1·.20 + participation 0·.10 + satisfaction 1·.10, over weights .75
        assert abs(p.engagement_index - 100 * (0.175 + 0.20 + 0.10) / 0.75) < 1e-9
