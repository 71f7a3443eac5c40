import LVMessages

extension ProtoJSON {
    /// The JSON of a compiled message (the schema must know its type: `.compiled` knows them all).
    public func json<M: ProtoMessage>(_ message: M) throws -> JSONValue {
        try json(type: M.protoName, bytes: message.serializedBytes())
    }

    /// A compiled message from its JSON; unknown keys are an error naming the key and its line.
    public func message<M: ProtoMessage>(_ type: M.Type, from json: JSONValue) throws -> M {
        try M(serializedBytes: bytes(type: M.protoName, json: json))
    }
}
