import RegistrationDomain
import LVStore

/// The registration database, version by version. Never edit a released step; add one.
enum RegistrationSchema {
    static let migrations = [
        Migration(1, "physicians, activities, sessions, enrollment, attendance, credit, request log", """
        CREATE TABLE physician (
            npi TEXT PRIMARY KEY,
            given_name TEXT NOT NULL,
            family_name TEXT NOT NULL,
            specialty TEXT NOT NULL,
            birth_month INTEGER NOT NULL,
            birth_day INTEGER NOT NULL,
            email TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX physician_specialty ON physician (specialty, npi);
        CREATE TABLE licence (
            npi TEXT NOT NULL REFERENCES physician (npi) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            state TEXT NOT NULL,
            number TEXT NOT NULL,
            PRIMARY KEY (npi, position)
        ) WITHOUT ROWID;
        CREATE INDEX licence_state ON licence (state, npi);
        CREATE TABLE board_id (
            npi TEXT NOT NULL REFERENCES physician (npi) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            board TEXT NOT NULL,
            id TEXT NOT NULL,
            PRIMARY KEY (npi, position)
        ) WITHOUT ROWID;
        CREATE TABLE activity (
            activity_id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            type INTEGER NOT NULL,
            start_date TEXT NOT NULL,
            end_date TEXT NOT NULL,
            max_credits REAL NOT NULL,
            target_moore_level INTEGER NOT NULL,
            dtc_competence INTEGER NOT NULL,
            dtc_performance INTEGER NOT NULL,
            dtc_patient_outcomes INTEGER NOT NULL,
            created_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE objective (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            objective_id TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (activity_id, position),
            UNIQUE (activity_id, objective_id)
        ) WITHOUT ROWID;
        CREATE TABLE session (
            session_id TEXT PRIMARY KEY,
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX session_activity ON session (activity_id, start_ms);
        CREATE TABLE session_objective (
            session_id TEXT NOT NULL REFERENCES session (session_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            objective_id TEXT NOT NULL,
            PRIMARY KEY (session_id, position)
        ) WITHOUT ROWID;
        CREATE TABLE enrollment (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id),
            npi TEXT NOT NULL REFERENCES physician (npi),
            cohort INTEGER NOT NULL,
            enrolled_ms INTEGER NOT NULL,
            withdrawn_ms INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (activity_id, npi)
        ) WITHOUT ROWID;
        CREATE TABLE attendance (
            npi TEXT NOT NULL REFERENCES physician (npi),
            session_id TEXT NOT NULL REFERENCES session (session_id),
            check_in_ms INTEGER NOT NULL,
            check_out_ms INTEGER,
            PRIMARY KEY (npi, session_id, check_in_ms)
        ) WITHOUT ROWID;
        CREATE TABLE credit (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id),
            npi TEXT NOT NULL REFERENCES physician (npi),
            credits REAL NOT NULL,
            claimed_ms INTEGER NOT NULL,
            minutes_attended INTEGER NOT NULL,
            PRIMARY KEY (activity_id, npi)
        ) WITHOUT ROWID;
        CREATE INDEX credit_npi ON credit (npi, activity_id);
        """ + RequestLog.schema),
        Migration(2, "learner professions, NABP id, PARS consent; credit offers, MOC offers; claims by credit type", """
        ALTER TABLE physician ADD COLUMN profession INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE physician ADD COLUMN nabp_eprofile_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE physician ADD COLUMN pars_consent INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE credit_offer (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            credit_type INTEGER NOT NULL,
            max_amount REAL NOT NULL,
            acpe_uan TEXT NOT NULL,
            PRIMARY KEY (activity_id, position),
            UNIQUE (activity_id, credit_type)
        );
        CREATE TABLE moc_offer (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            board TEXT NOT NULL,
            points REAL NOT NULL,
            passing_score REAL NOT NULL,
            PRIMARY KEY (activity_id, position),
            UNIQUE (activity_id, board)
        );
        CREATE TABLE credit_by_type (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id),
            npi TEXT NOT NULL REFERENCES physician (npi),
            credit_type INTEGER NOT NULL,
            credits REAL NOT NULL,
            claimed_ms INTEGER NOT NULL,
            minutes_attended INTEGER NOT NULL,
            PRIMARY KEY (activity_id, npi, credit_type)
        );
        INSERT INTO credit_by_type (activity_id, npi, credit_type, credits, claimed_ms, minutes_attended)
            SELECT activity_id, npi, 1, credits, claimed_ms, minutes_attended FROM credit;
        DROP TABLE credit;
        ALTER TABLE credit_by_type RENAME TO credit;
        CREATE INDEX credit_npi ON credit (npi, activity_id);
        """),
        // Existing objectives keep their rows and read as "no desired level, no measures";
        // existing activities have no planning row and read as "no planning record".
        Migration(3, "planning: practice gap, evidence, audience; desired level and measures per objective", """
        ALTER TABLE objective ADD COLUMN desired_level TEXT NOT NULL DEFAULT '';
        CREATE TABLE objective_measure (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            objective_position INTEGER NOT NULL,
            position INTEGER NOT NULL,
            measure_code TEXT NOT NULL,
            PRIMARY KEY (activity_id, objective_position, position)
        );
        CREATE TABLE activity_planning (
            activity_id TEXT PRIMARY KEY REFERENCES activity (activity_id) ON DELETE CASCADE,
            practice_gap TEXT NOT NULL,
            evidence_detail TEXT NOT NULL
        );
        CREATE TABLE planning_list (
            activity_id TEXT NOT NULL REFERENCES activity (activity_id) ON DELETE CASCADE,
            list TEXT NOT NULL,
            position INTEGER NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (activity_id, list, position)
        );
        """),
    ]
}
