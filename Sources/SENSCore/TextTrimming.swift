extension StringProtocol {
    /// Without leading and trailing spaces and tabs (a CSV cell's, a `key=value` setting's).
    public func trimmingASCIISpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
