/// The few differences between the SQLite dialect the stores write and PostgreSQL, translated in
/// this one place. Stores keep to the common subset otherwise (row values, `ON CONFLICT … DO
/// UPDATE SET … = excluded.…`, `coalesce`, `LIMIT ?`).
public enum PostgresDialect {
    /// A statement: `?` → `$k` (k counting from one past the highest number seen, as SQLite
    /// does), `?N` → `$N`; `INSERT OR IGNORE INTO …` → `INSERT INTO … ON CONFLICT DO NOTHING`.
    /// Quoted strings and identifiers are left alone.
    public static func statement(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var highest = 0
        var quote: Character? = nil
        var chars = Array(sql)
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            if let q = quote {
                out.append(ch)
                if ch == q { quote = nil }
                i += 1
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
                i += 1
                continue
            }
            if ch == "?" {
                var j = i + 1
                var digits = ""
                while j < chars.count, let d = chars[j].wholeNumberValue, chars[j].isASCII {
                    digits.append(String(d))
                    j += 1
                }
                let n: Int
                if let explicit = Int(digits) { n = explicit } else { n = highest + 1 }
                highest = max(highest, n)
                out += "$\(n)"
                i = j
                continue
            }
            out.append(ch)
            i += 1
        }
        chars = []
        let trimmed = out.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" })
        let prefix = "INSERT OR IGNORE INTO"
        if trimmed.uppercased().hasPrefix(prefix) {
            var body = String(trimmed.dropFirst(prefix.count))
            while body.last == " " || body.last == "\n" || body.last == ";" { body.removeLast() }
            return "INSERT INTO" + body + " ON CONFLICT DO NOTHING"
        }
        return out
    }

    /// A migration's DDL: SQLite's INTEGER is 64-bit (PostgreSQL's is 32), REAL → DOUBLE
    /// PRECISION, BLOB → BYTEA, `WITHOUT ROWID` (a SQLite storage choice) dropped, and TEXT
    /// compared byte by byte (`COLLATE "C"`) as SQLite compares it: keys, `ORDER BY` and the
    /// `(a, b) > (?, ?)` of cursor paging then order the same on both backends whatever locale the
    /// database was created with (under en_US, 'a-1' < 'a_1' < 'B_2'; in byte order 'B_2' comes first).
    public static func schema(_ sql: String) -> String {
        var words: [(String, String)] = [("WITHOUT ROWID", ""), ("INTEGER", "BIGINT"), ("REAL", "DOUBLE PRECISION"),
                                         ("BLOB", "BYTEA"), ("AUTOINCREMENT", ""), ("TEXT", "TEXT COLLATE \"C\"")]
        var out = sql
        for (from, to) in words { out = replaceWord(from, with: to, in: out) }
        words = []
        return out
    }

    /// Replaces `word` where it stands alone (not inside an identifier such as `interval_integer`).
    static func replaceWord(_ word: String, with replacement: String, in text: String) -> String {
        let source = Array(text.utf8)
        let pattern = Array(word.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        func isIdent(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 }
        var i = 0
        while i < source.count {
            if i + pattern.count <= source.count, Array(source[i..<i + pattern.count]) == pattern,
               i == 0 || !isIdent(source[i - 1]), i + pattern.count == source.count || !isIdent(source[i + pattern.count]) {
                out += Array(replacement.utf8)
                i += pattern.count
            } else {
                out.append(source[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
