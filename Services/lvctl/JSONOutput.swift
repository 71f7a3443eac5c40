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
                return .init(name, Double(text) == nil ? .null : .number(text))
            case .list:
                return .init(name, .array(text.split(separator: ",").map { .string(String($0)) }))
            }
        })
    }
    print(JSONValue.array(objects).rendered())
}
