import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The browser page and the headers that fence it in (issue 11 §5): a Content-Security-Policy
/// that lets it run only its own inline script and style (by their SHA-256, computed when the
/// node starts) and talk only to the node that served it, `frame-ancestors 'none'`, no referrer.
///
/// The page's test hooks (`window.__chatDebug`) exist only when the node runs with
/// `--page-debug`: the node marks the page `<html data-debug="1">` and the script checks it.
struct PageResponse: Sendable {
    let body: ByteBuffer
    let scriptHashes: [String]
    let styleHashes: [String]

    init(page: ByteBuffer, debug: Bool) {
        var html = String(buffer: page)
        scriptHashes = Self.hashes(of: "script", in: html)
        styleHashes = Self.hashes(of: "style", in: html)
        if debug, let range = html.range(of: "<html") {
            html.replaceSubrange(range, with: "<html data-debug=\"1\"")
        }
        body = ByteBuffer(string: html)
    }

    /// The CSP for a page served under `host` (the request's Host header).
    func contentSecurityPolicy(host: String?) -> String {
        var connect = "'self'"
        // The socket is on the page's own host and port; older engines do not count ws: as 'self'.
        if let host, !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]".contains($0) }) {
            connect += " ws://\(host) wss://\(host)"
        }
        let scripts = scriptHashes.map { "'sha256-\($0)'" }.joined(separator: " ")
        let styles = styleHashes.map { "'sha256-\($0)'" }.joined(separator: " ")
        return "default-src 'none'; script-src \(scripts); style-src \(styles); connect-src \(connect); img-src 'self' data:; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    func response(host: String?, head: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"]
        headers[.contentSecurityPolicy] = contentSecurityPolicy(host: host)
        headers[.referrerPolicy] = "no-referrer"
        return Response(status: .ok, headers: headers, body: head ? .init() : .init(byteBuffer: body))
    }

    /// Base64 SHA-256 of the contents of every `<tag>…</tag>` (CSP hash sources).
    static func hashes(of tag: String, in html: String) -> [String] {
        var result: [String] = []
        var rest = html[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            let content = rest[open.upperBound..<close.lowerBound]
            result.append(Data(SHA256.hash(data: Data(content.utf8))).base64EncodedString())
            rest = rest[close.upperBound...]
        }
        return result
    }
}
