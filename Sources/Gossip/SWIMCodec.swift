/// Compact binary encoding of `SWIMMessage`.
///
/// ```
/// message  = version:u8 kind:u8 senderID:string senderIncarnation:varint body updateCount:varint update*
/// body     = ping: seq:varint target:string
///          | pingRequest: seq:varint target:string address
///          | ack: seq:varint member:string incarnation:varint
///          | nack: seq:varint
///          | sync: flags:u8 (bit 0: reply requested)
///          | gossip: (empty)
/// update   = id:string flags:u8 (bits 0-1 status, bit 2 has suspector) incarnation:varint address
///            metadataCount:varint (key:string value:string)* [suspectedBy:string]
/// address  = host:string port:varint
/// string   = length:varint utf8-bytes
/// varint   = LEB128, unsigned
/// ```
/// Sizes are computed without encoding (`encodedSize`), so the state machine can cut the
/// piggyback to fit a datagram before the message is built.
public enum SWIMCodec {
    public static let version: UInt8 = 1

    /// Largest record (one update) ever put on the wire; larger ones (absurd metadata) are never
    /// sent. Leaves room for the header of any message within a 1,400-byte datagram.
    public static let maxRecordSize = 1024

    public enum DecodingError: Error, Equatable {
        case truncated
        case unsupportedVersion(UInt8)
        case unknownKind(UInt8)
        case invalidValue
        case trailingBytes
    }

    // MARK: sizes

    static func varintSize(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    static func stringSize(_ s: String) -> Int {
        let n = s.utf8.count
        return varintSize(UInt64(n)) + n
    }

    static func addressSize(_ a: GossipAddress) -> Int {
        stringSize(a.host) + varintSize(UInt64(clamping: max(0, a.port)))
    }

    /// Bytes the update takes on the wire.
    public static func encodedSize(of update: SWIMUpdate) -> Int {
        let m = update.member
        var size = stringSize(m.id) + 1 + varintSize(m.incarnation) + addressSize(m.address)
        size += varintSize(UInt64(m.metadata.count))
        for (k, v) in m.metadata { size += stringSize(k) + stringSize(v) }
        if let s = update.suspectedBy { size += stringSize(s) }
        return size
    }

    /// Bytes the message takes without its updates (and without the update count).
    public static func encodedHeaderSize(of message: SWIMMessage) -> Int {
        var size = 2 + stringSize(message.senderID) + varintSize(message.senderIncarnation)
        switch message.kind {
        case .ping(let seq, let target):
            size += varintSize(seq) + stringSize(target)
        case .pingRequest(let seq, let target, let address):
            size += varintSize(seq) + stringSize(target) + addressSize(address)
        case .ack(let seq, let member, let incarnation):
            size += varintSize(seq) + stringSize(member) + varintSize(incarnation)
        case .nack(let seq):
            size += varintSize(seq)
        case .sync:
            size += 1
        case .gossip:
            break
        }
        return size
    }

    /// Bytes the whole message takes.
    public static func encodedSize(of message: SWIMMessage) -> Int {
        var size = encodedHeaderSize(of: message) + varintSize(UInt64(message.updates.count))
        for u in message.updates { size += encodedSize(of: u) }
        return size
    }

    // MARK: encoding

    public static func encode(_ message: SWIMMessage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedSize(of: message))
        encode(message, into: &out)
        return out
    }

    public static func encode(_ message: SWIMMessage, into out: inout [UInt8]) {
        out.append(version)
        switch message.kind {
        case .ping: out.append(1)
        case .pingRequest: out.append(2)
        case .ack: out.append(3)
        case .nack: out.append(4)
        case .sync: out.append(5)
        case .gossip: out.append(6)
        }
        putString(message.senderID, &out)
        putVarint(message.senderIncarnation, &out)
        switch message.kind {
        case .ping(let seq, let target):
            putVarint(seq, &out)
            putString(target, &out)
        case .pingRequest(let seq, let target, let address):
            putVarint(seq, &out)
            putString(target, &out)
            putAddress(address, &out)
        case .ack(let seq, let member, let incarnation):
            putVarint(seq, &out)
            putString(member, &out)
            putVarint(incarnation, &out)
        case .nack(let seq):
            putVarint(seq, &out)
        case .sync(let replyRequested):
            out.append(replyRequested ? 1 : 0)
        case .gossip:
            break
        }
        putVarint(UInt64(message.updates.count), &out)
        for update in message.updates { putUpdate(update, &out) }
    }

    static func putVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func putString(_ s: String, _ out: inout [UInt8]) {
        putVarint(UInt64(s.utf8.count), &out)
        out.append(contentsOf: s.utf8)
    }

    static func putAddress(_ a: GossipAddress, _ out: inout [UInt8]) {
        putString(a.host, &out)
        putVarint(UInt64(clamping: max(0, a.port)), &out)
    }

    static func putUpdate(_ u: SWIMUpdate, _ out: inout [UInt8]) {
        let m = u.member
        putString(m.id, &out)
        var flags = UInt8(m.status.rank)
        if u.suspectedBy != nil { flags |= 0x04 }
        out.append(flags)
        putVarint(m.incarnation, &out)
        putAddress(m.address, &out)
        putVarint(UInt64(m.metadata.count), &out)
        // Sorted so that the encoding of a record is deterministic.
        for key in m.metadata.keys.sorted() {
            putString(key, &out)
            putString(m.metadata[key]!, &out)
        }
        if let s = u.suspectedBy { putString(s, &out) }
    }

    // MARK: decoding

    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> SWIMMessage {
        try decode(bytes[...])
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(DecodingError) -> SWIMMessage {
        var reader = Reader(bytes: bytes)
        let v = try reader.byte()
        guard v == version else { throw .unsupportedVersion(v) }
        let tag = try reader.byte()
        let senderID = try reader.string()
        let senderIncarnation = try reader.varint()
        let kind: SWIMMessageKind
        switch tag {
        case 1: kind = .ping(sequence: try reader.varint(), target: try reader.string())
        case 2:
            kind = .pingRequest(sequence: try reader.varint(), target: try reader.string(), targetAddress: try reader.address())
        case 3: kind = .ack(sequence: try reader.varint(), member: try reader.string(), incarnation: try reader.varint())
        case 4: kind = .nack(sequence: try reader.varint())
        case 5:
            let flags = try reader.byte()
            kind = .sync(replyRequested: flags & 1 == 1)
        case 6: kind = .gossip
        default: throw .unknownKind(tag)
        }
        let count = try reader.varint()
        // Each update takes at least 6 bytes: a bound that rejects absurd counts early.
        guard count <= UInt64(reader.remaining / 6) else { throw .invalidValue }
        var updates: [SWIMUpdate] = []
        updates.reserveCapacity(Int(count))
        for _ in 0..<count { updates.append(try reader.update()) }
        guard reader.remaining == 0 else { throw .trailingBytes }
        return SWIMMessage(senderID: senderID, senderIncarnation: senderIncarnation, kind: kind, updates: updates)
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.index = bytes.startIndex
        }

        var remaining: Int { bytes.endIndex - index }

        mutating func byte() throws(DecodingError) -> UInt8 {
            guard index < bytes.endIndex else { throw .truncated }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func varint() throws(DecodingError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                guard shift < 64 else { throw .invalidValue }
                let part = UInt64(b & 0x7F)
                guard shift < 63 || part <= 1 else { throw .invalidValue }
                result |= part << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }

        mutating func string() throws(DecodingError) -> String {
            let length = try varint()
            guard length <= UInt64(remaining) else { throw .truncated }
            let end = index + Int(length)
            let s = String(decoding: bytes[index..<end], as: UTF8.self)
            index = end
            return s
        }

        mutating func address() throws(DecodingError) -> GossipAddress {
            let host = try string()
            let port = try varint()
            guard port <= 65535 else { throw .invalidValue }
            return GossipAddress(host: host, port: Int(port))
        }

        mutating func update() throws(DecodingError) -> SWIMUpdate {
            let id = try string()
            let flags = try byte()
            guard flags & ~0x07 == 0 else { throw .invalidValue }
            let status: MemberStatus
            switch flags & 0x03 {
            case 0: status = .alive
            case 1: status = .suspect
            case 2: status = .dead
            default: status = .left
            }
            let incarnation = try varint()
            let address = try address()
            let metaCount = try varint()
            guard metaCount <= UInt64(remaining / 2) else { throw .invalidValue }
            var metadata: [String: String] = [:]
            for _ in 0..<metaCount {
                let k = try string()
                metadata[k] = try string()
            }
            let suspectedBy = flags & 0x04 != 0 ? try string() : nil
            return SWIMUpdate(
                member: GossipMember(id: id, address: address, metadata: metadata, status: status, incarnation: incarnation),
                suspectedBy: suspectedBy)
        }
    }
}
