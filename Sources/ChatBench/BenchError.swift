/// A usage or run error with a message for a person.
struct BenchError: Error, CustomStringConvertible, Sendable, Equatable {
    var description: String
    init(_ description: String) { self.description = description }
}
