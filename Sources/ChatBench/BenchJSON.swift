/// A JSON value that keeps its keys in the order they were given, for the one-line report.
indirect enum BenchJSON: Sendable, Equatable {
    case object([(String, BenchJSON)])
    case array([BenchJSON])
    case string(String)
    case int(Int)
    case number(Double)
    case bool(Bool)
    case null

    static func == (lhs: BenchJSON, rhs: BenchJSON) -> Bool { lhs.rendered == rhs.rendered }

    /// Compact JSON on one line. Doubles get at most 3 decimals; non-finite ones become null.
    var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    private func render(into out: inout String) {
        switch self {
        case .object(let fields):
            out.append("{")
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out.append(",") }
                Self.quote(key, into: &out)
                out.append(":")
                value.render(into: &out)
            }
            out.append("}")
        case .array(let values):
            out.append("[")
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(",") }
                value.render(into: &out)
            }
            out.append("]")
        case .string(let string): Self.quote(string, into: &out)
        case .int(let int): out.append(String(int))
        case .number(let double):
            guard double.isFinite else {
                out.append("null")
                return
            }
            let rounded = (double * 1000).rounded() / 1000
            if rounded == rounded.rounded() && abs(rounded) < 1e15 {
                out.append(String(Int(rounded)))
            } else {
                out.append(String(rounded))
            }
        case .bool(let bool): out.append(bool ? "true" : "false")
        case .null: out.append("null")
        }
    }

    private static func quote(_ string: String, into out: inout String) {
        out.append("\"")
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }
}

extension LatencySummary {
    var json: BenchJSON {
        .object([
            ("count", .int(Int(count))), ("p50", .number(p50)), ("p99", .number(p99)), ("p999", .number(p999)),
            ("max", .number(max)),
        ])
    }
}
