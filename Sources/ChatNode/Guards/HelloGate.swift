import Synchronization

/// Whether a `/ws` connection has said `hello`: set by its session (on the session's task), read
/// by its socket handler when the hello deadline passes (on the event loop).
final class HelloGate: Sendable {
    private let said = Atomic<Bool>(false)

    var isOpen: Bool { said.load(ordering: .acquiring) }

    func open() { said.store(true, ordering: .releasing) }
}
