import Hummingbird
import NIOCore

/// The request context of the node's router: Hummingbird's basic context plus the client's
/// address, which the per-address limits (`ClientGuard`) key on.
struct ChatRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
