import Testing
@testable import RoomGroup
@Test func placeholder() {}
