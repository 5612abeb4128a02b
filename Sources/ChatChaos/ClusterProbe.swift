import ChatClient
import ChatCore

/// Read-only questions to a running cluster over HTTP: room members and the history route.
struct ClusterProbe: Sendable {
    let endpoints: [Endpoint]

    /// Members of a room as the node at `endpoint` reports them (nil: no answer).
    func members(room: String, at endpoint: Endpoint) async -> [String]? {
        guard let response = try? await LoopbackIO.get(endpoint: endpoint, path: "/rooms/\(room)", timeout: .seconds(1)),
            response.status == 200,
            let json = try? response.body.withUnsafeBytes({ try JSONParser.parse($0) })
        else { return nil }
        return json["members"]?.arrayValue?.compactMap(\.stringValue)
    }

    /// The room's whole history through `GET /rooms/{room}/messages?since=S&limit=200`, paging on
    /// the highest seq returned; tries each endpoint in turn. Stops when a page is empty or does
    /// not move `since` forward (a node whose seqs went backwards cannot loop the pager).
    func history(room: String) async -> [HistoryEntry]? {
        for endpoint in endpoints {
            var entries: [HistoryEntry] = []
            var since: UInt64 = 0
            var failed = false
            for _ in 0..<10_000 {
                guard
                    let response = try? await LoopbackIO.get(
                        endpoint: endpoint, path: "/rooms/\(room)/messages?since=\(since)&limit=200", timeout: .seconds(5)),
                    response.status == 200,
                    let json = try? response.body.withUnsafeBytes({ try JSONParser.parse($0) }),
                    let messages = json["messages"]?.arrayValue
                else {
                    failed = true
                    break
                }
                let page = messages.compactMap { ReceivedMessage(json: $0, defaultRoom: room) }
                entries += page.map { HistoryEntry(seq: $0.seq, id: $0.id, user: $0.user) }
                guard let top = page.map(\.seq).max(), top > since else { break }
                since = top
            }
            if !failed { return entries }
        }
        return nil
    }
}
