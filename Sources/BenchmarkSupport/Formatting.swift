/// `x` with exactly `digits` decimals (no Foundation, no locale).
public func fixed(_ x: Double, _ digits: Int = 3) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((x * scale).rounded())
    if digits == 0 { return "\(scaled)" }
    let sign = scaled < 0 ? "-" : ""
    let magnitude = abs(scaled)
    let whole = magnitude / Int(scale)
    let fraction = String(magnitude % Int(scale))
    return "\(sign)\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
}

/// `s` right-aligned in `width` characters (never cut).
public func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

/// `s` left-aligned in `width` characters (never cut).
public func padRight(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
