import LVMessages
import RegistrationDomain

// Every parameter of the simulator lives in this file (docs/ASSESSMENT.md "The simulator"):
// what a course teaches (`Course`: format, dates, sessions, objectives, items, vignette,
// commitments, practice measures, credits, MOC, professions) and how people behave
// (`Realism`: no-shows, partial attendance, claims, missing tests, response rates, practice data).

/// How learners behave. `typical` is the default (published CME attrition); `idealised` keeps
/// the first simulator's behaviour (everyone attends, claims and takes both tests), which tests
/// that count exact n's use.
public struct Realism: Sendable {
    /// Enrolled participants who never attend (they may still take the pre-test).
    public var noShow = 0.10
    /// Of no-shows, the share who took the pre-test anyway.
    public var noShowPreTest = 0.6
    /// Attendees who miss one session of a multi-session activity.
    public var partialAttendance = 0.15
    /// Attendees who claim no credit at all.
    public var noClaim = 0.08
    /// Claimants who claim less than their attendance supports (0.25-0.75 below).
    public var claimShortfall = 0.10
    /// Learners (either cohort) without a pre-test, and attendees without a post-test.
    public var missingPreTest = 0.06
    public var missingPostTest = 0.10
    /// Participants who answer the 7- and 60-day follow-up tests.
    public var followUp7Response = 0.40
    public var followUp60Response = 0.30
    /// Participants who make a commitment to change, and those who answer its follow-up.
    public var commitment = 0.6
    public var commitmentFollowUpResponse = 0.35
    /// Participants who fill in the evaluation.
    public var evaluation = 0.65
    /// Learners (either cohort) with EHR or registry data for the practice measures.
    public var practiceData = 0.30

    public init() {}

    public static let typical = Realism()

    /// The first simulator: no attrition, follow-up 75 % / 55 %, commitment follow-up 70 %, all practice data.
    public static let idealised: Realism = {
        var r = Realism()
        (r.noShow, r.partialAttendance, r.noClaim, r.claimShortfall, r.missingPreTest, r.missingPostTest) = (0, 0, 0, 0, 0, 0)
        (r.followUp7Response, r.followUp60Response, r.commitmentFollowUpResponse, r.evaluation, r.practiceData) = (0.75, 0.55, 0.7, 0.8, 1)
        return r
    }()
}

/// What one simulated activity is: its own content, format, dates and credit.
public struct Course: Sendable {
    public struct Item: Sendable {
        public var id: String
        /// Empty for a control item (a topic the activity does not teach).
        public var objective: String
        public var difficulty: Double
        public var procedural: Bool
        public var stem: String
    }

    public struct SessionPlan: Sendable {
        public var title: String
        public var objectives: [String]
        /// Start, from the activity's start.
        public var offsetMs: Int64
        public var minutes: Int
    }

    public struct Measure: Sendable {
        public var code: String
        public var baseRate: Double
        /// Rate change for participants who learned everything (scaled by their learning).
        public var effect: Double
        public var patientOutcome: Bool
    }

    public var key: String
    public var title: String
    public var type: ActivityType
    public var startDate: String
    public var endDate: String
    /// First session's start, Unix ms (for enduring material: when learners complete it).
    public var startMs: Int64
    /// Empty for enduring material: no attendance, credit bounded by the maximum.
    public var sessions: [SessionPlan]
    public var objectives: [(id: String, text: String)]
    public var items: [Item]
    public var vignette: (objective: String, stem: String, criteria: [String])
    public var commitments: [(objective: String, text: String)]
    public var questions: [String]
    public var measures: [Measure]
    /// Credit offered by type; the first is also `max_credits`.
    public var credits: [(type: CreditType, max: Double, uan: String)]
    public var moc: [(board: String, points: Double, passing: Double)]
    /// Shares of physicians, nurses and pharmacists among learners (sum 1).
    public var professionShares: (physician: Double, nurse: Double, pharmacist: Double)
    public var designed: (competence: Bool, performance: Bool, patientOutcomes: Bool)
    public var targetMooreLevel: UInt32
    /// The planning record: the practice gap, its evidence and the audience (docs/REGISTRATION.md "Planning").
    public var planning: Planning? = nil
    /// Per objective id: the desired Moore level and the measures mapped to the objective.
    public var desired: [String: (level: String, measures: [String])] = [:]

    /// A planning record for the courses below.
    static func plan(_ gap: String, _ sources: [GapEvidenceSource], _ detail: String, _ professions: [Profession], _ specialties: [String]) -> Planning {
        var p = Planning()
        (p.practiceGap, p.evidenceSources, p.evidenceDetail, p.targetProfessions, p.specialties) = (gap, sources, detail, professions, specialties)
        return p
    }

    public static let hour: Int64 = 3_600_000
    public static let day: Int64 = 86_400_000

    /// The heart-failure course: live, two one-hour sessions, physicians, AMA PRA Category 1 and ABIM MOC.
    public static let heartFailure = Course(
        key: "hf", title: "Heart failure 2026: guideline-directed therapy in practice", type: .course,
        startDate: "2026-11-26", endDate: "2026-11-26", startMs: 1_795_701_600_000, // 2026-11-26T14:00Z
        sessions: [.init(title: "GDMT in practice", objectives: ["obj-gdmt"], offsetMs: 0, minutes: 60),
                   .init(title: "HFpEF after the trials", objectives: ["obj-sglt2"], offsetMs: hour, minutes: 60)],
        objectives: [("obj-gdmt", "Start all four pillars of GDMT in HFrEF"), ("obj-sglt2", "Prescribe SGLT2 inhibitors in HFpEF")],
        items: [
            .init(id: "q1", objective: "obj-gdmt", difficulty: 0.2, procedural: false, stem: "Which four drug classes make up GDMT for HFrEF?"),
            .init(id: "q2", objective: "obj-gdmt", difficulty: 0.8, procedural: false, stem: "Which GDMT drug lowers mortality fastest after discharge?"),
            .init(id: "q3", objective: "obj-gdmt", difficulty: 0.5, procedural: true, stem: "BP 98/60 on an ARNI: what next?"),
            .init(id: "q4", objective: "obj-gdmt", difficulty: 1.2, procedural: true, stem: "Potassium 5.6 on an MRA: what do you change?"),
            .init(id: "q5", objective: "obj-sglt2", difficulty: 0.4, procedural: false, stem: "What did EMPEROR-Preserved show?"),
            .init(id: "q6", objective: "obj-sglt2", difficulty: 1.0, procedural: false, stem: "Down to which eGFR may an SGLT2 inhibitor be started?"),
            .init(id: "q7", objective: "obj-sglt2", difficulty: 0.6, procedural: true, stem: "HFpEF with recent admission: first added drug?"),
            .init(id: "q8", objective: "obj-sglt2", difficulty: 1.4, procedural: false, stem: "Which HFpEF endpoint did SGLT2 inhibitors reduce?"),
            .init(id: "c1", objective: "", difficulty: 0.3, procedural: false, stem: "Control: first-line treatment of gout flares"),
            .init(id: "c2", objective: "", difficulty: 0.9, procedural: false, stem: "Control: screening interval for AAA"),
        ],
        vignette: ("obj-gdmt", "68-year-old with HFrEF (EF 30%), BP 112/70, eGFR 48: what do you do at this visit?",
                   ["start ARNI", "start SGLT2i", "continue beta-blocker", "add MRA with potassium check", "plan titration in 2 weeks"]),
        commitments: [("obj-sglt2", "Start an SGLT2 inhibitor in eligible HFpEF patients"), ("obj-gdmt", "Titrate GDMT at every visit")],
        questions: ["How do I start GDMT at low blood pressure?", "Can SGLT2 inhibitors be started in hospital?"],
        // A two-hour course has no plausible effect on 30-day readmissions: effect 0.
        measures: [.init(code: "HF-SGLT2-RX", baseRate: 0.30, effect: 0.12, patientOutcome: false),
                   .init(code: "HF-READMIT-30D-FREE", baseRate: 0.78, effect: 0, patientOutcome: true)],
        credits: [(.amaPraCategory1, 2.0, "")], moc: [("ABIM", 2.0, 0.6)],
        professionShares: (1, 0, 0), designed: (true, true, false), targetMooreLevel: 5,
        // Some objectives reach their desired level in the demo and some cannot: a two-hour course
        // does not move readmissions (effect 0 above), so obj-gdmt's level 6 stays unevidenced.
        planning: plan("Fewer than a third of eligible HFpEF patients receive an SGLT2 inhibitor, and GDMT is rarely titrated to target doses.",
                       [.qualityData, .literature], "GWTG-HF registry report 2025; ACC/AHA/HFSA 2022 guideline",
                       [.physician], ["Cardiology", "Internal Medicine"]),
        desired: ["obj-gdmt": ("4", ["HF-READMIT-30D-FREE"]), "obj-sglt2": ("5", ["HF-SGLT2-RX"])])

    /// The sepsis course: a jointly accredited webinar for physicians, nurses and pharmacists,
    /// three one-hour sessions, AMA PRA Category 1, ANCC, ACPE and IPCE credit, ABIM MOC.
    public static let sepsis = Course(
        key: "sepsis", title: "Sepsis: recognition and the first hour (jointly accredited)", type: .internetLiveCourse,
        startDate: "2026-10-14", endDate: "2026-10-14", startMs: 1_791_997_200_000, // 2026-10-14T17:00Z
        sessions: [.init(title: "Recognising sepsis early", objectives: ["obj-sep-recognise"], offsetMs: 0, minutes: 60),
                   .init(title: "The hour-1 bundle", objectives: ["obj-sep-bundle"], offsetMs: hour, minutes: 60),
                   .init(title: "Antimicrobials and stewardship", objectives: ["obj-sep-antimicrobial"], offsetMs: 2 * hour, minutes: 60)],
        objectives: [("obj-sep-recognise", "Screen for sepsis with qSOFA, NEWS2 and lactate"),
                     ("obj-sep-bundle", "Complete the hour-1 bundle: lactate, cultures, antibiotics, fluids, vasopressors"),
                     ("obj-sep-antimicrobial", "Choose and de-escalate empiric antimicrobials")],
        items: [
            .init(id: "s1", objective: "obj-sep-recognise", difficulty: 0.3, procedural: false, stem: "Which qSOFA criteria flag possible sepsis?"),
            .init(id: "s2", objective: "obj-sep-recognise", difficulty: 0.9, procedural: true, stem: "Lactate 3.1 with normal BP: what does it mean for triage?"),
            .init(id: "s3", objective: "obj-sep-bundle", difficulty: 0.5, procedural: true, stem: "How much crystalloid for hypotension or lactate ≥ 4?"),
            .init(id: "s4", objective: "obj-sep-bundle", difficulty: 1.1, procedural: true, stem: "MAP 58 after 30 mL/kg: the next step?"),
            .init(id: "s5", objective: "obj-sep-bundle", difficulty: 0.7, procedural: false, stem: "Cultures before antibiotics: how long may antibiotics wait?"),
            .init(id: "s6", objective: "obj-sep-antimicrobial", difficulty: 0.8, procedural: false, stem: "Empiric cover for suspected MRSA pneumonia with shock?"),
            .init(id: "s7", objective: "obj-sep-antimicrobial", difficulty: 1.3, procedural: true, stem: "Vancomycin trough-to-AUC dosing in AKI: what changes?"),
            .init(id: "c1", objective: "", difficulty: 0.4, procedural: false, stem: "Control: first-line treatment of hypothyroidism"),
            .init(id: "c2", objective: "", difficulty: 1.0, procedural: false, stem: "Control: target HbA1c in frail older adults"),
        ],
        vignette: ("obj-sep-bundle", "74-year-old from a care home, T 38.9, RR 26, BP 88/50, confused, lactate 4.2: what do you do in the first hour?",
                   ["measure lactate again within 2-4 h", "blood cultures before antibiotics", "broad-spectrum antibiotics within 1 h",
                    "30 mL/kg crystalloid", "vasopressor if MAP < 65 after fluids"]),
        commitments: [("obj-sep-bundle", "Start the hour-1 bundle at triage for every positive screen"),
                      ("obj-sep-antimicrobial", "Review empiric antibiotics at 48 hours")],
        questions: ["Does qSOFA replace SIRS in the ED?", "Balanced crystalloids or saline?"],
        measures: [.init(code: "SEP-1-BUNDLE", baseRate: 0.55, effect: 0.10, patientOutcome: false),
                   .init(code: "SEPSIS-MORTALITY-30D-FREE", baseRate: 0.82, effect: 0, patientOutcome: true)],
        credits: [(.amaPraCategory1, 3.0, ""), (.ancc, 3.0, ""), (.acpe, 3.0, "JA4008162-0000-26-012-L01-P"), (.ipce, 3.0, "")],
        moc: [("ABIM", 3.0, 0.7)],
        professionShares: (0.5, 0.35, 0.15), designed: (true, true, false), targetMooreLevel: 5,
        planning: plan("SEP-1 bundle compliance is 55 % in our hospitals; antibiotics are often started after the first hour.",
                       [.qualityData, .needsSurvey], "CMS SEP-1 hospital data; ED and ICU staff needs survey 2026",
                       [.physician, .nurse, .pharmacist], ["Emergency Medicine", "Internal Medicine", "Critical Care Nursing", "Hospital Pharmacy"]),
        desired: ["obj-sep-recognise": ("3A", []), "obj-sep-bundle": ("5", ["SEP-1-BUNDLE"]),
                  "obj-sep-antimicrobial": ("6", ["SEPSIS-MORTALITY-30D-FREE"])])

    /// Anticoagulation: on-demand enduring material (no sessions), a year on offer, 1 credit.
    public static let anticoagulation = Course(
        key: "anticoag", title: "Anticoagulation in atrial fibrillation (on demand)", type: .internetEnduringMaterial,
        startDate: "2026-09-01", endDate: "2027-08-31", startMs: 1_793_433_600_000, // 2026-10-31T08:00Z, a typical completion
        sessions: [],
        objectives: [("obj-af-score", "Decide anticoagulation with CHA2DS2-VASc"), ("obj-af-doac", "Dose DOACs for renal function")],
        items: [
            .init(id: "a1", objective: "obj-af-score", difficulty: 0.2, procedural: false, stem: "CHA2DS2-VASc of a 70-year-old woman with hypertension?"),
            .init(id: "a2", objective: "obj-af-score", difficulty: 0.9, procedural: true, stem: "Score 1 in a man: anticoagulate?"),
            .init(id: "a3", objective: "obj-af-doac", difficulty: 0.7, procedural: true, stem: "Apixaban dose at 81 years, 58 kg, creatinine 1.4?"),
            .init(id: "a4", objective: "obj-af-doac", difficulty: 1.2, procedural: false, stem: "Which DOAC needs the most renal adjustment?"),
            .init(id: "c1", objective: "", difficulty: 0.5, procedural: false, stem: "Control: first-line treatment of migraine"),
        ],
        vignette: ("obj-af-doac", "79-year-old with AF, eGFR 32, weight 55 kg, on aspirin: what do you prescribe?",
                   ["stop aspirin", "start a DOAC", "reduced apixaban dose", "check renal function in 6 months"]),
        commitments: [("obj-af-doac", "Check DOAC doses against renal function at every review")],
        questions: [],
        measures: [.init(code: "AF-OAC-RX", baseRate: 0.68, effect: 0.08, patientOutcome: false)],
        credits: [(.amaPraCategory1, 1.0, "")], moc: [],
        professionShares: (1, 0, 0), designed: (true, false, false), targetMooreLevel: 4,
        planning: plan("DOACs are under-dosed in a fifth of patients with reduced renal function.", [.literature, .priorOutcomes],
                       "Prior activity outcomes 2025", [.physician], ["Cardiology", "Internal Medicine"]),
        desired: ["obj-af-score": ("3A", []), "obj-af-doac": ("4", ["AF-OAC-RX"])])

    /// Diabetes grand rounds: a regularly scheduled series, four monthly one-hour sessions.
    public static let diabetesSeries = Course(
        key: "diabetes-rss", title: "Diabetes grand rounds (regularly scheduled series)", type: .regularlyScheduledSeries,
        startDate: "2026-07-02", endDate: "2026-10-01", startMs: 1_783_011_600_000, // 2026-07-02T17:00Z; sessions Jul 2, Jul 30, Sep 3, Oct 1
        sessions: [.init(title: "GLP-1 receptor agonists beyond glucose", objectives: ["obj-dm-glp1"], offsetMs: 0, minutes: 60),
                   .init(title: "Insulin titration", objectives: ["obj-dm-insulin"], offsetMs: 28 * day, minutes: 60),
                   .init(title: "Kidney protection", objectives: ["obj-dm-glp1"], offsetMs: 63 * day, minutes: 60),
                   .init(title: "Hypoglycaemia in older adults", objectives: ["obj-dm-insulin"], offsetMs: 91 * day, minutes: 60)],
        objectives: [("obj-dm-glp1", "Choose GLP-1 RA or SGLT2i by comorbidity"), ("obj-dm-insulin", "Titrate basal insulin safely")],
        items: [
            .init(id: "d1", objective: "obj-dm-glp1", difficulty: 0.4, procedural: false, stem: "Which drug for T2D with established ASCVD?"),
            .init(id: "d2", objective: "obj-dm-glp1", difficulty: 1.0, procedural: true, stem: "T2D with CKD 3b and albuminuria: add what?"),
            .init(id: "d3", objective: "obj-dm-insulin", difficulty: 0.6, procedural: true, stem: "Fasting 160 on 20 U glargine: new dose?"),
            .init(id: "d4", objective: "obj-dm-insulin", difficulty: 1.1, procedural: false, stem: "Which patients need a relaxed HbA1c target?"),
            .init(id: "c1", objective: "", difficulty: 0.5, procedural: false, stem: "Control: treatment of community-acquired pneumonia"),
        ],
        vignette: ("obj-dm-insulin", "66-year-old on metformin and glargine 30 U, fasting 180, one night-time hypo last month: what now?",
                   ["review hypoglycaemia timing", "adjust glargine by 10 %", "consider a GLP-1 RA", "set HbA1c target 7.5-8 %"]),
        commitments: [("obj-dm-glp1", "Offer a GLP-1 RA or SGLT2i to every T2D patient with ASCVD or CKD")],
        questions: ["Can GLP-1 RAs be combined with DPP-4 inhibitors?"],
        measures: [.init(code: "DM-CARDIORENAL-RX", baseRate: 0.40, effect: 0.10, patientOutcome: false)],
        credits: [(.amaPraCategory1, 4.0, "")], moc: [("ABIM", 4.0, 0.6)],
        professionShares: (1, 0, 0), designed: (true, true, false), targetMooreLevel: 5,
        planning: plan("Patients with T2D and ASCVD or CKD are rarely offered a GLP-1 RA or SGLT2 inhibitor.", [.qualityData],
                       "Practice EHR audit 2026", [.physician], ["Internal Medicine"]),
        desired: ["obj-dm-glp1": ("5", ["DM-CARDIORENAL-RX"]), "obj-dm-insulin": ("3B", [])])

    public static let all: [Course] = [heartFailure, sepsis, anticoagulation, diabetesSeries]
    public static func named(_ key: String) -> Course? { all.first { $0.key == key } }
}
