import LVJSON

/// `--json` for the table commands: one object per row with the table's column names as keys
/// and typed values — numbers as JSON numbers, lists as arrays, an unknown cell ("?" or empty
/// where a number belongs) as null.
enum Column {
    case text, number, list
}

func printTypedRows(_ header: [String], _ rows: [[String]], _ kinds: [Column]) {
    precondition(header.count == kinds.count, "one kind per column")
    let objects: [JSONValue] = rows.map { row in
        .object(zip(header, zip(row, kinds)).map { name, cell in
            let (text, kind) = cell
            switch kind {
            case .text:
                return .init(name, .string(text))
            case .number:
                return .init(name, jsonNumber(text))
            case .list:
                return .init(name, .array(text.split(separator: ",").map { .string(String($0)) }))
            }
        })
    }
    print(JSONValue.array(objects).rendered())
}

/// A cell as a JSON number: "05" → 5, "1.50" → 1.5 (JSON forbids leading zeros); null when it is no finite number.
func jsonNumber(_ text: String) -> JSONValue {
    if let i = Int(text) { return .number(String(i)) }
    guard let d = Double(text), d.isFinite else { return .null }
    return .number(d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d))
}
