/// Prints a report: the table (unless JSON only), then the JSON line, on standard output.
enum Report {
    static func emit(table: String, json: BenchJSON, jsonOnly: Bool) {
        if !jsonOnly { print(table) }
        print(json.rendered)
    }

    /// `a / b`, or nil when `b` is 0.
    static func ratio(_ a: Double, _ b: Double) -> Double? { b > 0 ? a / b : nil }
}
