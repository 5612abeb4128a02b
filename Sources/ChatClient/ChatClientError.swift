/// Why `ChatClientConnection.connect` failed.
public enum ChatClientError: Error, Sendable, Hashable {
    /// The server answered the upgrade request with something other than a WebSocket upgrade.
    case upgradeRejected
    /// The TCP connection or the upgrade did not complete within the configured time.
    case timedOut
}
