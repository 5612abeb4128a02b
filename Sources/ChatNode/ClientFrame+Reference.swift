import ChatCore

extension ClientFrame {
    /// The `ref` the frame carried, echoed in answers and errors.
    var ref: JSONValue? {
        switch self {
        case .join(_, _, let ref), .leave(_, let ref), .history(_, _, _, let ref), .ping(let ref): ref
        case .hello, .send: nil
        }
    }

    /// The client id of a `send`, echoed in its errors.
    var messageID: String? {
        if case .send(_, let id, _) = self { return id }
        return nil
    }
}
