import ChatCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension ProtocolError: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status: status) { object in
            object.field("code", code.rawValue)
            object.field("message", message)
        }
    }
}

/// JSON responses written with `JSONWriter`.
enum JSONResponse {
    static func make(status: HTTPResponse.Status = .ok, _ body: (inout JSONWriter.ObjectWriter) -> Void) -> Response {
        var writer = JSONWriter()
        writer.object(body)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

/// Turns every error a route or the router throws into `{code, message}` JSON with its status,
/// including the router's own 404 and the body-size 413.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ProtocolError {
            return try error.response(from: request, context: context)
        } catch let error as AdminError {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let code: ErrorCode =
                switch error.status.code {
                case 401: .unauthorized
                case 404: .notFound
                case 413: .tooLarge
                case 429: .rateLimited
                case 503: .unavailable
                case 400..<500: .badRequest
                default: .internal
                }
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return try ProtocolError(code, message).response(from: request, context: context)
                .withStatus(error.status)
        } catch {
            context.logger.error("request failed: \(error)")
            return try ProtocolError(.internal, "internal error").response(from: request, context: context)
        }
    }
}

extension Response {
    fileprivate func withStatus(_ status: HTTPResponse.Status) -> Response {
        var response = self
        response.status = status
        return response
    }
}
