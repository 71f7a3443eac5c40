extension Lv_Rpc_V1_FieldViolation {
    /// One broken rule as it goes on the wire: the field's path, the rule's name, a message for people.
    /// The one way to build one (Violations, RPCError, the decoder's errors all use it).
    public init(field: String, rule: String, description: String) {
        self.init()
        self.field = field
        self.rule = rule
        self.description = description
    }
}
