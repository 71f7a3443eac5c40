import Foundation
import LVDomain
import LVAPI
import LVMessages
import LVRPC
import Registration
import RegistrationDomain
import Testing

/// A valid NPI from a counter (Luhn over 80840 + the first nine digits).
func testNPI(_ n: Int) -> String {
    let nine = String(format: "%09d", 200_000_000 + n).utf8.map { Int($0) - 48 }
    return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
}

@Suite("a small CME event through lv-registration", .serialized, .timeLimit(.minutes(3)))
struct RegistrationEventTests {
    /// Minutes physician i attends: session 1 from i % 5 minutes late to the end (60 − i % 5);
    /// session 2 the same, less 30 for every 4th, skipped by every 10th.
    static func handMinutes(_ i: Int) -> Int {
        let late = i % 5
        let s1 = 60 - late
        let s2 = i % 10 == 0 ? 0 : 60 - late - (i % 4 == 0 ? 30 : 0)
        return s1 + s2
    }

    /// Every total the schedule produces (checked below), with its credit by hand: one per 60
    /// minutes, down to the quarter (a quarter is 15 minutes).
    static let handCredits: [Int: Double] = [
        56: 0.75, 57: 0.75, 58: 0.75, 59: 0.75, 60: 1.00,      // session 1 only (i % 10 == 0 → late 0: 60)
        82: 1.25, 84: 1.25, 86: 1.25, 88: 1.25, 90: 1.50,      // left session 2 early: 2·(60 − late) − 30
        112: 1.75, 114: 1.75, 116: 1.75, 118: 1.75, 120: 2.00, // both sessions: 2·(60 − late)
    ]
    static let handCreditText: [Double: String] = [0.75: "0.75", 1.00: "1.00", 1.25: "1.25", 1.50: "1.50", 1.75: "1.75", 2.00: "2.00"]

    @Test("the hand-made credit table covers every physician of the schedule, with the values worked out for a few by hand")
    func handTable() {
        for i in 0..<40 { #expect(Self.handCredits[Self.handMinutes(i)] != nil, "physician \(i): \(Self.handMinutes(i)) minutes") }
        // 0: 60 + skip → 60; 1: 59 + 59; 4: 56 + (56 − 30); 12: 58 + 28; 10: 60 + skip; 21: 59 + 59.
        #expect([0, 1, 4, 12, 10, 21].map(Self.handMinutes) == [60, 118, 82, 86, 60, 118])
    }

    @Test("create an activity from JSON, register 50 physicians, enroll, check in and out, claim credit")
    func wholeEvent() async throws {
        let service = try RunningService("lv-registration")
        let addr = "127.0.0.1:\(service.port)"
        // Two one-hour sessions on 2026-11-26 from 14:00Z.
        let activityJSON = """
        {"activity_id": "hf-2026", "title": "Heart failure: what changed in 2026", "type": "C",
         "start_date": "2026-11-26", "end_date": "2026-11-26", "max_credits": 2.0, "target_moore_level": 5,
         "objectives": [{"id": "obj-gdmt", "text": "Start all four pillars of GDMT"}, {"id": "obj-sglt2", "text": "Use SGLT2 inhibitors in HFpEF"}],
         "designed_to_change": {"competence": true, "performance": true},
         "sessions": [{"session_id": "hf-s1", "title": "GDMT", "start": "2026-11-26T14:00:00Z", "end": "2026-11-26T15:00:00Z", "objectives": ["obj-gdmt"]},
                      {"session_id": "hf-s2", "title": "HFpEF", "start": "2026-11-26T15:00:00Z", "end": "2026-11-26T16:00:00Z", "objectives": ["obj-sglt2"]}]}
        """
        let file = service.dataDirectory.appendingPathComponent("activity.json")
        try activityJSON.write(to: file, atomically: true, encoding: .utf8)
        let created = try run("lvctl", ["registration", "create-activity", "--addr", addr, "--file", file.path])
        #expect(created.status == 0, "\(created.errors)")
        #expect(created.output.contains("activity hf-2026"))
        // Running it again is a safe retry.
        #expect(try run("lvctl", ["registration", "create-activity", "--addr", addr, "--file", file.path]).status == 0)

        let client = RPCClient(host: "127.0.0.1", port: service.port)
        let registration = Lv.Registration.V1.Registration.Client(client)
        let s1: Int64 = 1_795_701_600_000 // 2026-11-26T14:00:00Z
        let s2 = s1 + 3_600_000
        var expectedCredits: [String: Double] = [:]
        try await withThrowingTaskGroup(of: (String, Double).self) { group in
            for i in 0..<50 {
                group.addTask {
                    var p = Physician()
                    p.npi = testNPI(i)
                    p.givenName = "Given\(i)"
                    p.familyName = "Family\(i)"
                    p.specialty = i % 2 == 0 ? "Cardiology" : "Internal Medicine"
                    p.birthMonth = UInt32(i % 12 + 1)
                    p.birthDay = UInt32(i % 28 + 1)
                    var b = Lv_Registration_V1_BoardId()
                    b.board = "ABIM"
                    b.id = "D\(i)"
                    p.boardIds = [b]
                    var reg = Lv_Registration_V1_RegisterPhysicianRequest()
                    reg.requestId = "e2e-reg-\(i)"
                    reg.physician = p
                    #expect(try await registration.registerPhysician(reg).created)
                    var enroll = Lv_Registration_V1_EnrollRequest()
                    enroll.requestId = "e2e-enr-\(i)"
                    enroll.activityId = "hf-2026"
                    enroll.npi = p.npi
                    enroll.cohort = i < 40 ? .participant : .comparison
                    _ = try await registration.enroll(enroll)
                    guard i < 40 else { return (p.npi, 0) }
                    // Late arrivals (i % 5 minutes late), early leavers in session 2 (every 4th leaves 30 min early),
                    // every 10th skips session 2.
                    var minutes = 0
                    for (session, start) in [("hf-s1", s1), ("hf-s2", s2)] {
                        if session == "hf-s2" && i % 10 == 0 { continue }
                        let late = Int64(i % 5)
                        let early: Int64 = session == "hf-s2" && i % 4 == 0 ? 30 : 0
                        var ci = Lv_Registration_V1_CheckInRequest()
                        (ci.npi, ci.sessionId, ci.atMs) = (p.npi, session, start + late * 60_000)
                        _ = try await registration.checkIn(ci)
                        var co = Lv_Registration_V1_CheckOutRequest()
                        (co.npi, co.sessionId, co.atMs) = (p.npi, session, start + (60 - early) * 60_000)
                        minutes += Int(try await registration.checkOut(co).sessionMinutes)
                    }
                    // The minutes the schedule above implies, and the credits they earn, worked out
                    // independently of the service's rules (see `Self.handMinutes`).
                    #expect(minutes == Self.handMinutes(i), "physician \(i): the service counted \(minutes) minutes")
                    let credits = Self.handCredits[Self.handMinutes(i)]!
                    var claim = Lv_Registration_V1_ClaimCreditRequest()
                    claim.requestId = "e2e-credit-\(i)"
                    (claim.activityId, claim.npi, claim.credits, claim.claimedMs) = ("hf-2026", p.npi, credits, s2 + 3_600_000)
                    let response = try await registration.claimCredit(claim)
                    #expect(Int(response.claim!.minutesAttended) == Self.handMinutes(i))
                    return (p.npi, credits)
                }
            }
            for try await (npi, credits) in group where credits > 0 { expectedCredits[npi] = credits }
        }
        #expect(expectedCredits.count == 40)

        // Attendance as the service computes it.
        var attendance = Lv_Registration_V1_GetAttendanceRequest()
        attendance.activityId = "hf-2026"
        let summary = try await registration.getAttendance(attendance)
        #expect(summary.scheduledMinutes == 120)
        #expect(summary.physicians.count == 40)
        #expect(summary.physicians.first { $0.npi == testNPI(0) }?.sessionsAttended == 1)
        await client.close()

        // Everything acknowledged survives a restart.
        #expect(service.stop() == 0)
        let again = try RunningService("lv-registration", dataDirectory: service.dataDirectory)
        let listed = try run("lvctl", ["registration", "list", "credits", "--addr", "127.0.0.1:\(again.port)", "--activity", "hf-2026", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]
        #expect(rows?.count == 40)
        // Typed: numbers are numbers, not strings.
        #expect(rows?.allSatisfy { $0["credits"] is NSNumber && $0["minutes_attended"] is NSNumber && $0["npi"] is String } == true)
        #expect(again.stop() == 0)
    }
}
