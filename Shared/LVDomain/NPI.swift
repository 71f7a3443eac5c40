/// The National Provider Identifier rules (CMS): 10 digits, the 10th a Luhn check digit
/// computed over the card-issuer prefix "80840" followed by the first 9 digits.
public enum NPI {
    /// The check digit for the first nine digits of an NPI.
    public static func checkDigit(firstNine digits: [Int]) -> Int {
        precondition(digits.count == 9)
        // Luhn over "80840" + digits, with the check digit position to the right: double every
        // second digit starting from the rightmost of the payload.
        let payload = [8, 0, 8, 4, 0] + digits
        var sum = 0
        for (offset, digit) in payload.reversed().enumerated() {
            if offset % 2 == 0 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return (10 - sum % 10) % 10
    }

    /// Nil when `text` is a valid NPI, else the broken rule and a sentence.
    public static func problem(_ text: String) -> (rule: String, message: String)? {
        guard text.utf8.count == 10, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return ("format", "an NPI is exactly 10 digits")
        }
        let digits = text.utf8.map { Int($0) - 48 }
        let expected = checkDigit(firstNine: Array(digits.prefix(9)))
        guard digits[9] == expected else {
            return ("luhn", "check digit is \(digits[9]); the Luhn digit over 80840 + the first 9 digits is \(expected)")
        }
        return nil
    }

    public static func isValid(_ text: String) -> Bool { problem(text) == nil }
}
